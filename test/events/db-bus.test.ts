/**
 * The outbox, the relay and the database bus on a real PostgreSQL: per-key order, exactly one
 * effect per event under redelivery, retries then the dead-letter list and its replay, two
 * event runners sharing one consumer, broadcasts, and the payment message report.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { Events, emit, emitPaymentReported, paymentReportedTopic, type BusEvent, type ConsumerSpec } from '../../src/events/index.js';
import { createLogger, newId, systemContext } from '../../src/platform/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { createEffectTable, effectsByKey, fastEvents, recordingConsumer, waitFor } from './events-support.js';

let platform: TestPlatform;
let db: Kysely<unknown>;
const ctx = systemContext('trace-events-test');
let poisoned = true;
const ordered = recordingConsumer('ordered');
const flaky = recordingConsumer('flaky', {
  fail: (p) => {
    if (p.key !== 'flaky-key' || p.n !== 1 || flakyFailures >= 2) return false;
    flakyFailures += 1;
    return true;
  },
});
let flakyFailures = 0;
const poison = recordingConsumer('poison', { fail: (p) => poisoned && p.key === 'poison-key' && p.n === 1 });
const reports: BusEvent[] = [];

before(async () => {
  platform = await startTestPlatform({ label: 'eventsdb', config: fastEvents });
  db = platform.databases.get<unknown>('events');
  await createEffectTable(db);
  const { events } = platform.runtime;
  events.consume(ordered);
  events.consume(flaky);
  events.consume(poison);
  events.consume({ name: 'reports', topics: [paymentReportedTopic], subsystem: 'events', handle: async (event) => void reports.push(event) });
  platform.runtime.startWorkers();
});

after(async () => {
  await platform.close();
});

/** Emits `count` events per key, `perTx` of them in each transaction, keys interleaved and concurrent. */
async function emitMany(keys: string[], count: number, perTx = 3, type = 'test.happened'): Promise<void> {
  await Promise.all(
    keys.map(async (key) => {
      for (let n = 0; n < count; n += perTx) {
        await db.transaction().execute(async (trx) => {
          for (let i = n; i < Math.min(count, n + perTx); i += 1) await emit(trx, 'events', { type, key, payload: { key, n: i }, context: ctx });
        });
      }
    }),
  );
}

async function countEffects(consumer: string): Promise<number> {
  const row = await sql<{ n: number }>`select count(*)::int as n from events.test_effect where consumer = ${consumer}`.execute(db);
  return row.rows[0]!.n;
}

test('every event reaches the consumer once, each key in emit order', async () => {
  const keys = Array.from({ length: 12 }, (_, i) => `order-${i}`);
  await emitMany(keys, 30);
  await waitFor('360 effects', async () => (await countEffects('ordered')) === 360);
  const byKey = await effectsByKey(db, 'ordered');
  for (const key of keys) assert.deepEqual(byKey.get(key), Array.from({ length: 30 }, (_, i) => i), `order of ${key}`);
  const outbox = await sql<{ n: number }>`select count(*)::int as n from events.outbox`.execute(db);
  assert.equal(outbox.rows[0]!.n, 0, 'the relay empties the outbox');
});

test('a rolled-back transaction emits nothing', async () => {
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await emit(trx, 'events', { type: 'test.happened', key: 'rolled-back', payload: { key: 'rolled-back', n: 0 }, context: ctx });
      throw new Error('business rule refused');
    }),
  );
  await emitMany(['after-rollback'], 1);
  await waitFor('the later event', async () => (await effectsByKey(db, 'ordered')).has('after-rollback'));
  assert.equal((await effectsByKey(db, 'ordered')).has('rolled-back'), false);
});

test('redelivery (cursors rewound, events published twice) changes nothing', async () => {
  const before = await countEffects('ordered');
  const callsBefore = ordered.calls;
  // Every bucket of the consumer goes back to the start, and the relay publishes old events again.
  const old = await sql<{ id: string; type: string; key: string; payload: unknown; context: unknown; occurred_at: Date }>`
    select id, type, key, payload, context, occurred_at from events.message order by seq limit 50`.execute(db);
  await platform.runtime.events.bus.publish(
    old.rows.map((r) => ({ id: r.id, type: r.type, key: r.key, payload: r.payload as never, context: r.context as never, source: 'events', broadcast: false, occurredAt: r.occurred_at.toISOString() })),
  );
  await sql`update events.consumer_bucket set cursor = 0 where consumer = 'ordered'`.execute(db);
  await waitFor('the rewound cursors to catch up', async () => {
    const rows = await sql<{ behind: number }>`select count(*)::int as behind from events.consumer_bucket b
      where consumer = 'ordered' and exists (select 1 from events.message m where m.bucket = b.bucket and m.seq > b.cursor)`.execute(db);
    return rows.rows[0]!.behind === 0;
  });
  assert.equal(await countEffects('ordered'), before, 'no second effect');
  assert.equal(ordered.calls, callsBefore, 'the processed record stops redelivered events before the handler');
  const messages = await sql<{ n: number; d: number }>`select count(*)::int as n, count(distinct id)::int as d from events.message`.execute(db);
  assert.equal(messages.rows[0]!.n, messages.rows[0]!.d, 'a re-published event is stored once');
});

test('a failing consumer is retried with backoff and succeeds', async () => {
  await emitMany(['flaky-key'], 3, 3);
  await waitFor('3 flaky effects', async () => (await countEffects('flaky')) >= 3 && (await effectsByKey(db, 'flaky')).get('flaky-key')?.length === 3);
  assert.deepEqual((await effectsByKey(db, 'flaky')).get('flaky-key'), [0, 1, 2]);
  assert.equal(flakyFailures, 2, "event 1 failed twice, then passed");
  const parked = await sql<{ n: number }>`select count(*)::int as n from events.dead_letter where consumer = 'flaky'`.execute(db);
  assert.equal(parked.rows[0]!.n, 0);
});

test('after the last retry the event is dead-lettered, the key moves on, and an operator replays it', async () => {
  const operator = await platform.newOperator('operator');
  const viewer = await platform.newOperator('viewer');
  await emitMany(['poison-key'], 3, 1);
  await waitFor('events 0 and 2 applied', async () => (await effectsByKey(db, 'poison')).get('poison-key')?.length === 2);
  assert.deepEqual((await effectsByKey(db, 'poison')).get('poison-key'), [0, 2], 'event 1 was set aside, not the ones after it');

  const list = await platform.runtime.http.inject({ method: 'GET', url: '/admin/events/dead-letters?consumer=poison', headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(list.statusCode, 200);
  const letters = list.json().data as Array<{ id: string; status: string; attempts: number; error: string; event: { key: string; payload: { n: number } } }>;
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.status, 'parked');
  assert.equal(letters[0]!.attempts, fastEvents.eventsRetryBackoffMs!.length + 1);
  assert.match(letters[0]!.error, /refused poison-key#1/);
  assert.equal(letters[0]!.event.payload.n, 1);

  const forbidden = await platform.runtime.http.inject({ method: 'POST', url: `/admin/events/dead-letters/${letters[0]!.id}/replay`, headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(forbidden.statusCode, 403);
  const missing = await platform.runtime.http.inject({ method: 'POST', url: `/admin/events/dead-letters/${newId()}/replay`, headers: { authorization: `Bearer ${operator.token}` } });
  assert.equal(missing.json().error.code, 'NOT_FOUND');

  poisoned = false;
  const replay = await platform.runtime.http.inject({ method: 'POST', url: `/admin/events/dead-letters/${letters[0]!.id}/replay`, headers: { authorization: `Bearer ${operator.token}` } });
  assert.equal(replay.statusCode, 200);
  assert.equal(replay.json().status, 'replaying');
  const again = await platform.runtime.http.inject({ method: 'POST', url: `/admin/events/dead-letters/${letters[0]!.id}/replay`, headers: { authorization: `Bearer ${operator.token}` } });
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().error.code, 'DEAD_LETTER_NOT_PARKED');
  await waitFor('the replay', async () => (await effectsByKey(db, 'poison')).get('poison-key')?.length === 3);
  // The effect commits first, then the letter is marked: wait for the mark rather than race it.
  const status = await waitFor('the letter marked replayed', async () => {
    const rows = await sql<{ status: string }>`select status from events.dead_letter where id = ${letters[0]!.id}`.execute(db);
    return rows.rows[0]!.status === 'replayed' ? rows.rows[0]!.status : undefined;
  });
  assert.equal(status, 'replayed');
});

test('a batch is applied in one transaction; an event the consumer skips leaves no processed record', async () => {
  const batches: number[] = [];
  const singles: string[] = [];
  const spec: ConsumerSpec<boolean> = {
    name: 'batched',
    topics: ['batch.*'],
    subsystem: 'events',
    // What load() reads decides the skip: here, a flag in the payload.
    load: async (events) => events.map((event) => (event.payload as { skip?: boolean }).skip === true),
    skips: (_event, skip) => skip,
    handle: async (event, trx) => {
      singles.push(event.id);
      const p = event.payload as { key: string; n: number };
      await sql`insert into events.test_effect (consumer, event_id, key, n) values ('batched', ${event.id}, ${p.key}, ${p.n})`.execute(trx);
    },
    handleMany: async (items, trx) => {
      batches.push(items.length);
      for (const { event } of items) {
        const p = event.payload as { key: string; n: number };
        await sql`insert into events.test_effect (consumer, event_id, key, n) values ('batched', ${event.id}, ${p.key}, ${p.n})`.execute(trx);
      }
    },
  };
  platform.runtime.events.consume(spec);
  await platform.runtime.events.worker.stop();
  // All ten in one transaction on one key: one bucket, relayed together, claimed together.
  await db.transaction().execute(async (trx) => {
    for (let n = 0; n < 10; n += 1) await emit(trx, 'events', { type: 'batch.happened', key: 'batch-key', payload: { key: 'batch-key', n, skip: n % 3 === 0 }, context: ctx });
  });
  platform.runtime.events.worker.start();
  await waitFor('the six effects', async () => (await effectsByKey(db, 'batched')).get('batch-key')?.length === 6);
  await waitFor('the bucket done', async () => {
    const rows = await sql<{ behind: number }>`select count(*)::int as behind from events.consumer_bucket b
      where consumer = 'batched' and exists (select 1 from events.message m where m.bucket = b.bucket and m.seq > b.cursor)`.execute(db);
    return rows.rows[0]!.behind === 0;
  });
  assert.deepEqual((await effectsByKey(db, 'batched')).get('batch-key'), [1, 2, 4, 5, 7, 8], 'in order, skipped ones left out');
  assert.deepEqual(batches, [6], 'one call for the whole batch');
  assert.equal(singles.length, 0);
  const processed = await sql<{ n: number }>`select count(*)::int as n from events.processed_event where consumer = 'batched'`.execute(db);
  assert.equal(processed.rows[0]!.n, 6, 'a processed record for each applied event, none for the skipped');
});

test('two runners share one consumer: every event applied once, both did work', async () => {
  const second = await Events.create({ databases: platform.databases, config: platform.config, logger: createLogger('silent') });
  const shared = recordingConsumer('shared', { topics: ['shared.*'] });
  const sharedTwin = recordingConsumer('shared', { topics: ['shared.*'] });
  platform.runtime.events.consume(shared);
  second.consume(sharedTwin);
  // The first runtime's workers are running; restart them so the new consumer runs there too.
  await platform.runtime.events.worker.stop();
  platform.runtime.events.worker.start();
  second.worker.start();
  try {
    const keys = Array.from({ length: 16 }, (_, i) => `shared-${i}`);
    await emitMany(keys, 25, 5, 'shared.happened');
    await waitFor('400 shared effects', async () => (await countEffects('shared')) === 400, 20_000);
    const byKey = await effectsByKey(db, 'shared');
    for (const key of keys) assert.deepEqual(byKey.get(key), Array.from({ length: 25 }, (_, i) => i), `order of ${key}`);
    const owners = await sql<{ handled_by: string }>`select distinct handled_by from events.processed_event where consumer = 'shared'`.execute(db);
    assert.equal(owners.rows.length, 2, 'both runners handled events');
    assert.ok(shared.calls > 0 && sharedTwin.calls > 0);
    assert.equal(shared.calls + sharedTwin.calls, 400, 'no event was handled twice');
  } finally {
    await second.worker.stop();
  }
});

test('a broadcast reaches every runner', async () => {
  const second = await Events.create({ databases: platform.databases, config: platform.config, logger: createLogger('silent') });
  const heard: string[] = [];
  platform.runtime.events.onBroadcast(['config.*'], (event) => void heard.push(`first:${(event.payload as { v: number }).v}`));
  second.onBroadcast(['config.*'], (event) => void heard.push(`second:${(event.payload as { v: number }).v}`));
  second.worker.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // the second listener connects
    await db.transaction().execute((trx) => emit(trx, 'events', { type: 'config.changed', key: 'config', payload: { v: 7 }, context: ctx, broadcast: true }));
    await waitFor('both runners', async () => heard.length === 2);
    assert.deepEqual(heard.sort(), ['first:7', 'second:7']);
  } finally {
    await second.worker.stop();
  }
});

test('the payment message report carries the facts, amounts as strings', async () => {
  const tradeId = newId();
  await db.transaction().execute((trx) =>
    emitPaymentReported(
      trx,
      'events',
      {
        trade: { id: tradeId, outTradeNo: 'o-1', type: 'instant', clientId: newId(), buyerId: newId(), sellerId: newId(), amount: 9_007_199_254_740_993n, currency: 'CNY', status: 'success' },
        payment: { id: newId(), amount: 9_007_199_254_740_993n, currency: 'CNY', paidAt: new Date('2026-01-01T00:00:00Z'), methods: [{ tool: 'card', amount: 9_007_199_254_740_993n, institution: 'alpha' }] },
      },
      ctx,
    ),
  );
  const event = await waitFor('the report', async () => reports.find((e) => e.key === tradeId));
  assert.equal(event.type, 'payment.reported');
  const payload = event.payload as { trade: { amount: string; out_trade_no: string }; payment: { paid_at: string; methods: Array<{ amount: string; institution: string }> } };
  assert.equal(payload.trade.amount, '9007199254740993', 'beyond 2^53, exactly');
  assert.equal(payload.trade.out_trade_no, 'o-1');
  assert.equal(payload.payment.paid_at, '2026-01-01T00:00:00.000Z');
  assert.deepEqual(payload.payment.methods[0], { tool: 'card', amount: '9007199254740993', institution: 'alpha' });
  assert.equal(event.context.traceId, ctx.traceId);
});

test('emit refuses to run outside a transaction and refuses bad types', async () => {
  await db.transaction().execute(async (trx) => {
    await assert.rejects(emit(trx, 'events', { type: 'Trade Paid', key: 'k', payload: {}, context: ctx }), /past tense/);
    await assert.rejects(emit(trx, 'events', { type: 'trade.paid', key: '', payload: {}, context: ctx }), /key/);
  });
  await assert.rejects(emit(db as never, 'events', { type: 'trade.paid', key: 'k', payload: {}, context: ctx }), /inside the state change transaction/);
  const consumerSpec: ConsumerSpec = { name: 'Bad Name', topics: ['*'], subsystem: 'events', handle: async () => undefined };
  assert.throws(() => platform.runtime.events.consume(consumerSpec), /must match/);
});

test('retention: old bus messages and processed records are purged, newer ones kept', async () => {
  const total = await sql<{ n: number }>`select count(*)::int as n from events.message`.execute(db);
  await sql`update events.message set published_at = now() - interval '8 days' where seq in (select seq from events.message order by seq limit 10)`.execute(db);
  await sql`update events.processed_event set processed_at = now() - interval '8 days' where event_id in (select id from events.message order by seq limit 10)`.execute(db);
  const oldProcessed = await sql<{ n: number }>`select count(*)::int as n from events.processed_event where processed_at < now() - interval '7 days'`.execute(db);
  assert.ok(oldProcessed.rows[0]!.n > 0);
  await platform.runtime.events.purgeStep();
  const left = await sql<{ n: number }>`select count(*)::int as n from events.message`.execute(db);
  assert.equal(left.rows[0]!.n, total.rows[0]!.n - 10);
  const processedLeft = await sql<{ n: number }>`select count(*)::int as n from events.processed_event where processed_at < now() - interval '7 days'`.execute(db);
  assert.equal(processedLeft.rows[0]!.n, 0);
});

test('a consumer added later with startAt newest skips what is already on the bus', async () => {
  await emitMany(['before-late'], 2);
  await waitFor('the earlier events on the bus', async () => (await effectsByKey(db, 'ordered')).get('before-late')?.length === 2);
  const late = { ...recordingConsumer('late'), startAt: 'newest' as const };
  platform.runtime.events.consume(late);
  await platform.runtime.events.worker.stop();
  platform.runtime.events.worker.start();
  await waitFor('the late consumer ready', async () => {
    const rows = await sql<{ n: number }>`select count(*)::int as n from events.consumer_bucket where consumer = 'late'`.execute(db);
    return rows.rows[0]!.n === fastEvents.eventsBuckets;
  });
  await emitMany(['after-late'], 2);
  await waitFor('the new events', async () => (await effectsByKey(db, 'late')).get('after-late')?.length === 2);
  assert.deepEqual([...(await effectsByKey(db, 'late')).keys()], ['after-late']);
});
