/**
 * Merchant notifications on a real database with local receivers: signed POSTs with the event's
 * id, the object's URL or the client's default, a receiver that fails three times then
 * succeeds (the schedule followed, the same id and body every time), one that hangs (timeouts,
 * then failed for good, then an operator's resend), and the per-client concurrency limit.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { clientObjectPayload, emit } from '../../src/events/index.js';
import { signatureHeader, verifySignature } from '../../src/notify/index.js';
import { ConfigError, loadConfig, newId, systemContext } from '../../src/platform/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { fastEvents, waitFor } from '../events/events-support.js';
import { startReceiver, type Receiver } from './receiver.js';

const scheduleMs = [100, 200, 300];
const timeoutMs = 400;
let platform: TestPlatform;
let db: Kysely<unknown>;
let receiver: Receiver;
const ctx = systemContext('trace-notify-test');

before(async () => {
  platform = await startTestPlatform({
    label: 'notify',
    config: { ...fastEvents, notifyScheduleMs: scheduleMs, notifyTimeoutMs: timeoutMs, notifyIntervalMs: 20, notifyConcurrencyPerClient: 2 },
  });
  db = platform.databases.get<unknown>('events');
  receiver = await startReceiver();
  platform.runtime.startWorkers();
});

after(async () => {
  await platform.close();
  await receiver.close();
});

async function newClient(path: string | undefined): Promise<{ id: string; secret: string }> {
  const created = await platform.runtime.clients.create({ name: `c-${path ?? 'none'}`, notifyUrl: path ? `${receiver.url}${path}` : undefined });
  return { id: created.id, secret: created.notify_secret };
}

/** Emits what the trade core will: a trade's state change, carrying the trade as the API shows it. */
async function tradeEvent(clientId: string, options: { type?: string; notifyUrl?: string; tradeId?: string; amount?: bigint } = {}): Promise<string> {
  const tradeId = options.tradeId ?? newId();
  const object = { id: tradeId, out_trade_no: `o-${tradeId.slice(-6)}`, status: 'success', amount: options.amount ?? 1050n, currency: 'CNY' };
  return db.transaction().execute((trx) =>
    emit(trx, 'events', { type: options.type ?? 'trade.paid', key: tradeId, payload: clientObjectPayload({ clientId, notifyUrl: options.notifyUrl, object }), context: ctx }),
  );
}

async function deliveryOf(eventId: string): Promise<{ id: string; status: string; attempts: number; last_error: string | null }> {
  return waitFor('the delivery row', async () => {
    const rows = await sql<{ id: string; status: string; attempts: number; last_error: string | null }>`
      select id, status, attempts, last_error from notify.delivery where event_id = ${eventId}`.execute(db);
    return rows.rows[0];
  });
}

function forPath(path: string): Array<{ body: string; headers: Record<string, unknown>; at: number }> {
  return receiver.received.filter((r) => r.path === path);
}

test('a signed POST to the client default URL, body {id, type, created_at, data}', async () => {
  const client = await newClient('/default');
  const eventId = await tradeEvent(client.id, { amount: 9_007_199_254_740_991n });
  await waitFor('the POST', async () => forPath('/default').length === 1);
  const [got] = forPath('/default');
  const body = JSON.parse(got!.body) as { id: string; type: string; created_at: string; data: { amount: number; status: string } };
  assert.equal(body.id, eventId);
  assert.equal(body.type, 'trade.paid');
  assert.match(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(body.data.amount, 9_007_199_254_740_991, 'amounts are JSON integers, as in the API');
  assert.equal(got!.headers['content-type'], 'application/json');
  const signature = got!.headers[signatureHeader] as string;
  assert.ok(verifySignature(signature, client.secret, got!.body, Math.floor(Date.now() / 1000)), 'the signature verifies with the notify secret');
  assert.equal(verifySignature(signature, 'whsec_wrong', got!.body, Math.floor(Date.now() / 1000)), false);
  assert.equal(verifySignature(signature, client.secret, got!.body + ' ', Math.floor(Date.now() / 1000)), false);
  const t = Number(/^t=(\d+),/.exec(signature)![1]);
  assert.ok(Math.abs(t - Date.now() / 1000) < 5);
  await waitFor('delivered', async () => (await deliveryOf(eventId)).status === 'delivered');
});

test("the object's notify_url wins over the client's; no URL at all, no notification", async () => {
  const client = await newClient('/fallback');
  const own = await tradeEvent(client.id, { notifyUrl: `${receiver.url}/own` });
  await waitFor('the POST to the own URL', async () => forPath('/own').length === 1);
  assert.equal(JSON.parse(forPath('/own')[0]!.body).id, own);
  assert.equal(forPath('/fallback').length, 0);

  const silent = await newClient(undefined);
  const quiet = await tradeEvent(silent.id);
  const nonHttp = await tradeEvent(client.id, { notifyUrl: 'file:///etc/passwd' });
  const marker = await tradeEvent(client.id);
  await waitFor('the marker', async () => forPath('/fallback').some((r) => JSON.parse(r.body).id === marker));
  const rows = await sql<{ n: number }>`select count(*)::int as n from notify.delivery where event_id in (${quiet}, ${nonHttp})`.execute(db);
  assert.equal(rows.rows[0]!.n, 0);
});

test('a receiver that fails three times, then succeeds: the schedule, and the same id and body every time', async () => {
  const client = await newClient('/flaky');
  receiver.behaviour = (r, _i) => (r.path === '/flaky' && forPath('/flaky').length <= 3 ? 500 : 200);
  const eventId = await tradeEvent(client.id);
  await waitFor('delivered after 4 tries', async () => (await deliveryOf(eventId)).status === 'delivered', 10_000);
  const tries = forPath('/flaky');
  assert.equal(tries.length, 4);
  assert.equal(new Set(tries.map((r) => r.body)).size, 1, 'the same body (and id) on every try');
  assert.equal(JSON.parse(tries[0]!.body).id, eventId);
  for (let i = 1; i < tries.length; i += 1) {
    const gap = tries[i]!.at - tries[i - 1]!.at;
    assert.ok(gap >= scheduleMs[i - 1]! - 15, `retry ${i} waited ${gap} ms, schedule says ${scheduleMs[i - 1]}`);
  }
  const operator = await platform.newOperator('viewer');
  const delivery = await deliveryOf(eventId);
  const shown = await platform.runtime.http.inject({ method: 'GET', url: `/admin/notifications/${delivery.id}`, headers: { authorization: `Bearer ${operator.token}` } });
  assert.equal(shown.statusCode, 200);
  const json = shown.json() as { status: string; attempts: number; tries: Array<{ http_status: number }> };
  assert.equal(json.status, 'delivered');
  assert.deepEqual(json.tries.map((t) => t.http_status), [500, 500, 500, 200]);
  receiver.behaviour = () => 200;
});

test('a receiver that hangs: each try times out, then failed for good; an operator resends it', async () => {
  const client = await newClient('/hang');
  receiver.behaviour = (r) => (r.path === '/hang' ? 'hang' : 200);
  const began = Date.now();
  const eventId = await tradeEvent(client.id);
  await waitFor('failed', async () => (await deliveryOf(eventId)).status === 'failed', 15_000);
  const elapsed = Date.now() - began;
  const delivery = await deliveryOf(eventId);
  assert.equal(delivery.attempts, scheduleMs.length + 1);
  assert.equal(forPath('/hang').length, scheduleMs.length + 1);
  assert.match(delivery.last_error ?? '', new RegExp(`no acknowledgement within ${timeoutMs} ms`));
  assert.ok(elapsed >= (scheduleMs.length + 1) * timeoutMs + scheduleMs.reduce((a, b) => a + b, 0) - 100, `took ${elapsed} ms`);

  const viewer = await platform.newOperator('viewer');
  const operator = await platform.newOperator('operator');
  const denied = await platform.runtime.http.inject({ method: 'POST', url: `/admin/notifications/${delivery.id}/resend`, headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(denied.statusCode, 403);
  const missing = await platform.runtime.http.inject({ method: 'POST', url: `/admin/notifications/${newId()}/resend`, headers: { authorization: `Bearer ${operator.token}` } });
  assert.equal(missing.statusCode, 404);

  receiver.behaviour = () => 200;
  const resend = await platform.runtime.http.inject({ method: 'POST', url: `/admin/notifications/${delivery.id}/resend`, headers: { authorization: `Bearer ${operator.token}` } });
  assert.equal(resend.statusCode, 200);
  assert.equal(resend.json().status, 'pending');
  await waitFor('delivered after the resend', async () => (await deliveryOf(eventId)).status === 'delivered');
  const last = forPath('/hang').at(-1)!;
  assert.equal(JSON.parse(last.body).id, eventId, 'the resend carries the same id');

  const list = await platform.runtime.http.inject({ method: 'GET', url: `/admin/notifications?client_id=${client.id}`, headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(list.statusCode, 200);
  assert.equal(list.json().data.length, 1);
  assert.equal(list.json().data[0].status, 'delivered');
});

test('a resend while a try is under way is refused', async () => {
  const client = await newClient('/slow');
  receiver.behaviour = (r) => (r.path === '/slow' ? 'hang' : 200);
  const eventId = await tradeEvent(client.id);
  await waitFor('the first try', async () => forPath('/slow').length === 1);
  const operator = await platform.newOperator('operator');
  const delivery = await deliveryOf(eventId);
  const refused = await platform.runtime.http.inject({ method: 'POST', url: `/admin/notifications/${delivery.id}/resend`, headers: { authorization: `Bearer ${operator.token}` } });
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.json().error.code, 'NOTIFICATION_IN_FLIGHT');
  receiver.behaviour = () => 200;
  await waitFor('delivered', async () => (await deliveryOf(eventId)).status === 'delivered', 5_000);
});

test('at most the configured number of POSTs in flight per client; other clients are not held up', async () => {
  const busy = await newClient('/busy');
  const other = await newClient('/other');
  receiver.behaviour = () => 200;
  receiver.delayMs = 150;
  try {
    const busyEvents = await Promise.all(Array.from({ length: 8 }, () => tradeEvent(busy.id)));
    await waitFor('the first busy POST', async () => forPath('/busy').length >= 1);
    const otherEvent = await tradeEvent(other.id);
    await waitFor('the other client served', async () => forPath('/other').some((r) => JSON.parse(r.body).id === otherEvent), 5_000);
    assert.ok(forPath('/busy').length < 8, 'the other client was served while the busy one still waited');
    await waitFor('all busy delivered', async () => {
      const rows = await sql<{ n: number }>`select count(*)::int as n from notify.delivery where status = 'delivered' and event_id = any(${busyEvents}::uuid[])`.execute(db);
      return rows.rows[0]!.n === 8;
    }, 10_000);
    assert.equal(receiver.maxInFlight.get('/busy'), 2, 'two at a time, never more');
  } finally {
    receiver.delayMs = 0;
  }
});

test('the schedule is configurable; the default is API.md\'s', () => {
  assert.deepEqual(loadConfig({}).notifyScheduleMs, [15_000, 60_000, 180_000, 600_000, 1_200_000, 2_400_000, 3_600_000, 7_200_000, 10_800_000, 14_400_000]);
  assert.equal(loadConfig({}).notifyTimeoutMs, 10_000);
  assert.deepEqual(loadConfig({ PAYCORE_NOTIFY_SCHEDULE: '250ms, 2s,1m,1h' }).notifyScheduleMs, [250, 2_000, 60_000, 3_600_000]);
  assert.throws(() => loadConfig({ PAYCORE_NOTIFY_SCHEDULE: '15 seconds' }), ConfigError);
  assert.throws(() => loadConfig({ PAYCORE_NOTIFY_SCHEDULE: '0s' }), ConfigError);
  assert.throws(() => loadConfig({ PAYCORE_EVENTS_RETRY_BACKOFF: '25h' }), ConfigError);
  assert.throws(() => loadConfig({ PAYCORE_EVENTS_NATS_STREAM: 'a.b' }), ConfigError);
});
