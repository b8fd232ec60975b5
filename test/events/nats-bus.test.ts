/**
 * The NATS JetStream bus against the server on 127.0.0.1:4222 (skipped when it does not answer):
 * per-key order across buckets, exactly one effect when JetStream delivers everything again,
 * retries then the dead-letter list, and broadcasts. Each run uses a stream of its own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { connect } from 'nats';
import { Events, emit } from '../../src/events/index.js';
import { createLogger, systemContext } from '../../src/platform/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { createEffectTable, effectsByKey, fastEvents, natsAvailable, recordingConsumer, waitFor } from './events-support.js';

const natsUp = await natsAvailable();
const skip = natsUp ? false : 'NATS is not answering on 127.0.0.1:4222 (JetStream tests need it)';
const stream = `PCT_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
const ctx = systemContext('trace-nats-test');
let platform: TestPlatform;
let db: Kysely<unknown>;
const ordered = recordingConsumer('ordered');
let poisoned = true;
const poison = recordingConsumer('poison', { fail: (p) => poisoned && p.key === 'poison-key' && p.n === 1 });

before(async () => {
  if (!natsUp) return;
  platform = await startTestPlatform({ label: 'eventsnats', config: { ...fastEvents, bus: 'nats://127.0.0.1:4222', eventsNatsStream: stream } });
  db = platform.databases.get<unknown>('events');
  await createEffectTable(db);
  platform.runtime.events.consume(ordered);
  platform.runtime.events.consume(poison);
  platform.runtime.startWorkers();
});

after(async () => {
  if (!natsUp) return;
  await platform.close();
  const nc = await connect({ servers: '127.0.0.1:4222' });
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
  await nc.close();
});

async function emitMany(keys: string[], count: number, perTx = 3): Promise<void> {
  await Promise.all(
    keys.map(async (key) => {
      for (let n = 0; n < count; n += perTx) {
        await db.transaction().execute(async (trx) => {
          for (let i = n; i < Math.min(count, n + perTx); i += 1) await emit(trx, 'events', { type: 'test.happened', key, payload: { key, n: i }, context: ctx });
        });
      }
    }),
  );
}

async function countEffects(consumer: string): Promise<number> {
  const row = await sql<{ n: number }>`select count(*)::int as n from events.test_effect where consumer = ${consumer}`.execute(db);
  return row.rows[0]!.n;
}

test('through JetStream every event arrives once, each key in order', { skip }, async () => {
  const keys = Array.from({ length: 10 }, (_, i) => `order-${i}`);
  await emitMany(keys, 20);
  await waitFor('200 effects', async () => (await countEffects('ordered')) === 200, 20_000);
  const byKey = await effectsByKey(db, 'ordered');
  for (const key of keys) assert.deepEqual(byKey.get(key), Array.from({ length: 20 }, (_, i) => i), `order of ${key}`);
});

test('when JetStream delivers everything again (consumers reset), no second effect', { skip }, async () => {
  const callsBefore = ordered.calls;
  await platform.runtime.events.worker.stop();
  const nc = await connect({ servers: '127.0.0.1:4222' });
  const jsm = await nc.jetstreamManager();
  for (let bucket = 0; bucket < fastEvents.eventsBuckets!; bucket += 1) await jsm.consumers.delete(stream, `ordered_${bucket}`);
  await nc.close();
  platform.runtime.events.worker.start();
  // Each of the 200 events is redelivered, stopped by its processed record before the handler.
  await emitMany(['marker'], 1);
  await waitFor('the marker', async () => (await effectsByKey(db, 'ordered')).has('marker'), 20_000);
  assert.equal(await countEffects('ordered'), 201);
  assert.equal(ordered.calls, callsBefore + 1, 'only the new event reached the handler');
});

test('after the last retry the event is dead-lettered; replay applies it', { skip }, async () => {
  await emitMany(['poison-key'], 3, 1);
  await waitFor('events 0 and 2', async () => (await effectsByKey(db, 'poison')).get('poison-key')?.length === 2, 20_000);
  assert.deepEqual((await effectsByKey(db, 'poison')).get('poison-key'), [0, 2]);
  const letters = await platform.runtime.events.deadLetters.list({ consumer: 'poison', limit: 10 });
  assert.equal(letters.data.length, 1);
  assert.equal(letters.data[0]!.attempts, fastEvents.eventsRetryBackoffMs!.length + 1);
  poisoned = false;
  assert.equal((await platform.runtime.events.deadLetters.requestReplay(letters.data[0]!.id)).ok, true);
  await waitFor('the replay', async () => (await effectsByKey(db, 'poison')).get('poison-key')?.length === 3, 20_000);
});

test('a broadcast on NATS reaches every runner', { skip }, async () => {
  const second = await Events.create({ databases: platform.databases, config: platform.config, logger: createLogger('silent') });
  const heard: string[] = [];
  platform.runtime.events.onBroadcast(['switch.*'], () => void heard.push('first'));
  second.onBroadcast(['switch.*'], () => void heard.push('second'));
  second.worker.start();
  try {
    await db.transaction().execute((trx) => emit(trx, 'events', { type: 'switch.changed', key: 'switch', payload: { on: true }, context: ctx, broadcast: true }));
    await waitFor('both runners', async () => heard.length === 2, 10_000);
    assert.deepEqual(heard.sort(), ['first', 'second']);
  } finally {
    await second.worker.stop();
    await second.close();
  }
});
