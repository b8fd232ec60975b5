/**
 * Real `paycore worker` processes, on the database bus and on NATS JetStream (skipped when
 * 127.0.0.1:4222 does not answer): two workers share the work with no event handled twice and
 * each trade's notifications created in order; a worker SIGKILLed in the middle of a batch loses
 * nothing; a worker killed while a POST is under way, then restarted, delivers it (same id).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { connect } from 'nats';
import { clientObjectPayload, emit } from '../../src/events/index.js';
import { newId, systemContext } from '../../src/platform/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { childEnv, spawnPaycore, type Spawned } from '../support/process.js';
import { natsAvailable, waitFor } from '../events/events-support.js';
import { startReceiver, type Receiver } from './receiver.js';

const natsUp = await natsAvailable();
const ctx = systemContext('trace-worker-test');

interface Setup {
  platform: TestPlatform;
  db: Kysely<unknown>;
  receiver: Receiver;
  workers: Spawned[];
  env: NodeJS.ProcessEnv;
}

async function setUp(label: string, bus: string | undefined, stream: string): Promise<Setup> {
  const platform = await startTestPlatform({ label });
  const receiver = await startReceiver();
  const env = childEnv({
    DATABASE_URL: platform.config.databaseUrl!,
    ...(bus ? { PAYCORE_BUS: bus, PAYCORE_EVENTS_NATS_STREAM: stream } : {}),
    PAYCORE_EVENTS_BUCKETS: '4',
    PAYCORE_EVENTS_RELAY_INTERVAL_MS: '20',
    PAYCORE_EVENTS_CONSUMER_INTERVAL_MS: '20',
    PAYCORE_EVENTS_CONSUMER_BATCH_MAX: '20',
    PAYCORE_EVENTS_LEASE_MS: '1500',
    PAYCORE_NOTIFY_TIMEOUT_MS: '800',
    PAYCORE_NOTIFY_INTERVAL_MS: '20',
    PAYCORE_NOTIFY_SCHEDULE: '100ms,200ms,300ms,400ms,500ms',
    PAYCORE_DB_POOL_MAX: '5',
  });
  return { platform, db: platform.databases.get<unknown>('events'), receiver, workers: [], env };
}

async function startWorker(setup: Setup): Promise<Spawned> {
  const worker = spawnPaycore(['worker'], setup.env);
  setup.workers.push(worker);
  await worker.waitFor(/Paycore worker \d+ is up/, 60_000);
  return worker;
}

async function tearDown(setup: Setup | undefined): Promise<void> {
  if (!setup) return;
  for (const worker of setup.workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  await Promise.all(setup.workers.map((worker) => worker.exited()));
  await setup.receiver.close();
  await setup.platform.close();
}

/** Emits `perKey` trade events for each of `keys` trades, one transaction each, keys concurrently. */
async function emitTrades(setup: Setup, clientId: string, keys: string[], perKey: number): Promise<string[]> {
  const ids: string[] = [];
  await Promise.all(
    keys.map(async (tradeId) => {
      for (let n = 0; n < perKey; n += 1) {
        const id = await setup.db.transaction().execute((trx) =>
          emit(trx, 'events', { type: 'trade.updated', key: tradeId, payload: clientObjectPayload({ clientId, object: { id: tradeId, n, amount: 100n } }), context: ctx }),
        );
        ids.push(id);
      }
    }),
  );
  return ids;
}

async function deliveredCount(setup: Setup, ids: string[]): Promise<number> {
  const rows = await sql<{ n: number }>`select count(*)::int as n from notify.delivery where status = 'delivered' and event_id = any(${ids}::uuid[])`.execute(setup.db);
  return rows.rows[0]!.n;
}

/** For every trade, the n of its notifications in the order they were created. */
async function creationOrder(setup: Setup, ids: string[]): Promise<Map<string, number[]>> {
  const rows = await sql<{ body: string }>`select body from notify.delivery where event_id = any(${ids}::uuid[]) order by created_at, id`.execute(setup.db);
  const byTrade = new Map<string, number[]>();
  for (const { body } of rows.rows) {
    const data = (JSON.parse(body) as { data: { id: string; n: number } }).data;
    byTrade.set(data.id, [...(byTrade.get(data.id) ?? []), data.n]);
  }
  return byTrade;
}

function receivedIds(receiver: Receiver): string[] {
  return receiver.received.map((r) => (JSON.parse(r.body) as { id: string }).id);
}

for (const bus of ['db', 'nats'] as const) {
  const skip = bus === 'nats' && !natsUp ? 'NATS is not answering on 127.0.0.1:4222 (JetStream worker tests need it)' : false;
  const stream = `PCT_${process.pid}_${Math.floor(Math.random() * 1e9)}`;

  describe(`two worker processes on the ${bus} bus`, { skip }, () => {
    let setup: Setup;
    let clientId: string;

    before(async () => {
      setup = await setUp(`wp${bus}`, bus === 'nats' ? 'nats://127.0.0.1:4222' : undefined, stream);
      clientId = (await setup.platform.runtime.clients.create({ name: 'merchant', notifyUrl: `${setup.receiver.url}/notify` })).id;
      await Promise.all([startWorker(setup), startWorker(setup)]);
    });

    after(async () => {
      await tearDown(setup);
      if (bus === 'nats') {
        const nc = await connect({ servers: '127.0.0.1:4222' });
        await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
        await nc.close();
      }
    });

    test('share the load: every event handled once, each trade in order, both workers worked', async () => {
      const trades = Array.from({ length: 20 }, () => newId());
      const ids = await emitTrades(setup, clientId, trades, 8);
      await waitFor('160 deliveries', async () => (await deliveredCount(setup, ids)) === 160, 60_000);
      const got = receivedIds(setup.receiver).filter((id) => ids.includes(id));
      assert.equal(got.length, 160, 'each notification POSTed exactly once');
      assert.equal(new Set(got).size, 160);
      const handlers = await sql<{ handled_by: string; n: number }>`select handled_by, count(*)::int as n from notify.processed_event
        where consumer = 'notify-merchant' and event_id = any(${ids}::uuid[]) group by handled_by`.execute(setup.db);
      assert.equal(handlers.rows.reduce((sum, row) => sum + row.n, 0), 160, 'one processed record per event');
      assert.equal(handlers.rows.length, 2, `both workers handled events: ${JSON.stringify(handlers.rows)}`);
      const order = await creationOrder(setup, ids);
      for (const trade of trades) assert.deepEqual(order.get(trade), [0, 1, 2, 3, 4, 5, 6, 7], `order of trade ${trade}`);
    });

    test('a worker SIGKILLed in the middle of a batch: nothing lost, nothing applied twice', async () => {
      const [victim] = setup.workers.filter((w) => w.child.exitCode === null);
      const before = setup.receiver.received.length;
      const trades = Array.from({ length: 20 }, () => newId());
      const emitting = emitTrades(setup, clientId, trades, 10);
      await waitFor('the batch under way', async () => setup.receiver.received.length - before >= 30, 60_000);
      victim!.child.kill('SIGKILL');
      await victim!.exited();
      const ids = await emitting;
      await waitFor('200 deliveries', async () => (await deliveredCount(setup, ids)) === 200, 60_000);
      const rows = await sql<{ n: number; d: number }>`select count(*)::int as n, count(distinct event_id)::int as d from notify.delivery where event_id = any(${ids}::uuid[])`.execute(setup.db);
      assert.deepEqual(rows.rows[0], { n: 200, d: 200 }, 'one notification per event');
      const got = new Set(receivedIds(setup.receiver));
      for (const id of ids) assert.ok(got.has(id), `event ${id} reached the merchant`);
      const order = await creationOrder(setup, ids);
      for (const trade of trades) assert.deepEqual(order.get(trade), Array.from({ length: 10 }, (_, i) => i), `order of trade ${trade}`);
      const handlers = await sql<{ victim: boolean; n: number }>`select handled_by like ${`%:${victim!.child.pid}:%`} as victim, count(*)::int as n
        from notify.processed_event where consumer = 'notify-merchant' and event_id = any(${ids}::uuid[]) group by 1`.execute(setup.db);
      const byVictim = handlers.rows.find((row) => row.victim)?.n ?? 0;
      assert.ok(byVictim > 0 && byVictim < 200, `the victim was killed in the middle of the work (it handled ${byVictim} of 200)`);
    });
  });
}

describe('a worker killed while a POST is under way, then started again', () => {
  let setup: Setup;

  before(async () => {
    setup = await setUp('wprestart', undefined, '');
  });

  after(async () => {
    await tearDown(setup);
  });

  test('the notification is delivered after the restart, with the same id; nothing else is lost', async () => {
    const clientId = (await setup.platform.runtime.clients.create({ name: 'merchant', notifyUrl: `${setup.receiver.url}/notify` })).id;
    setup.receiver.behaviour = () => 'hang';
    const first = await startWorker(setup);
    const [held] = await emitTrades(setup, clientId, [newId()], 1);
    await waitFor('the POST under way', async () => setup.receiver.received.length === 1, 60_000);
    // More events arrive while the worker is dying; none may be lost.
    const later = await emitTrades(setup, clientId, Array.from({ length: 5 }, () => newId()), 4);
    first.child.kill('SIGKILL');
    await first.exited();
    setup.receiver.behaviour = () => 200;
    await startWorker(setup);
    const all = [held!, ...later];
    await waitFor('all 21 delivered', async () => (await deliveredCount(setup, all)) === 21, 60_000);
    const heldTries = setup.receiver.received.filter((r) => (JSON.parse(r.body) as { id: string }).id === held);
    assert.ok(heldTries.length >= 2, 'tried before the kill and after the restart');
    assert.equal(new Set(heldTries.map((r) => r.body)).size, 1, 'the same body and id');
  });
});
