/**
 * Banks that answer late, twice, out of order, wrongly or not at all, against the real
 * simulators: unknown results resolved by query, duplicate and late callbacks applied once, a
 * contradicting late result never flips a final status, forged callbacks refused, bank-side
 * failures counted against the channel's circuit.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { ChannelDB } from '../../src/channel/index.js';
import { ctx, eventually, secrets, startHarness, type Harness } from './channel-harness.js';

let h: Harness;
/** How many times each order was announced final in this process (once per compare-and-set won). */
const finals = new Map<string, number>();
before(async () => {
  // A long breaker window: under a loaded machine ten slow results must still fall in one window.
  h = await startHarness('misbehave', { breakerWindowMs: 60_000 });
  h.platform.runtime.channel.onResult((order) => void finals.set(order.id, (finals.get(order.id) ?? 0) + 1));
});
after(async () => {
  await h?.close();
});

const db = () => h.platform.databases.get<ChannelDB>('channel');

async function anomalies(orderId: string | null, kind: string): Promise<number> {
  const rows = await db().selectFrom('channel.anomaly').select('id').where('kind', '=', kind as never).where((eb) => (orderId ? eb('order_id', '=', orderId) : eb('order_id', 'is', null))).execute();
  return rows.length;
}

const finalCount = async (orderId: string) => finals.get(orderId) ?? 0;

function alphaCallback(txn: Record<string, unknown>, secret = secrets.alpha): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({ event: 'TXN_RESULT', txn });
  const ts = String(Date.now());
  return { headers: { 'content-type': 'application/json', 'x-alpha-timestamp': ts, 'x-alpha-signature': createHmac('sha256', secret).update(`${ts}\n${body}`).digest('hex') }, body };
}

function betaCallback(fields: Record<string, string>, secret = secrets.beta): { headers: Record<string, string>; body: string } {
  const all = { notify_type: 'trade_status_sync', nonce_str: 'abc', ...fields };
  const canonical = Object.keys(all).sort().map((k) => `${k}=${all[k as keyof typeof all]}`).join('&');
  const sign = createHmac('sha256', secret).update(canonical).digest('hex').toUpperCase();
  return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...all, sign_type: 'HMAC-SHA256', sign }).toString() };
}

async function post(bank: string, message: { headers: Record<string, string>; body: string }): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${h.port}/callbacks/banks/${bank}`, { method: 'POST', headers: message.headers, body: message.body });
  return { status: response.status, body: await response.text() };
}

test('a card that never answers: unknown at once, queried on a backoff, known when the bank settles, never sent elsewhere', async () => {
  await h.sims.alpha.behaviour({ unknown_settle_ms: 1_500 });
  const agreement = await h.bindCard('6228000011110119');
  const paid = await h.platform.runtime.channel.pay({ instructionId: 'never-answers', agreementId: agreement, amount: 5_000n, ctx });
  assert.ok(paid.ok);
  assert.equal(paid.order.bank, 'alpha');
  const unknown = await eventually('unknown', async () => {
    const order = await h.platform.runtime.channel.getOrder(paid.order.id);
    return order?.status === 'unknown' && order;
  });
  assert.equal(unknown.sentAt !== null, true);
  const final = await h.waitFinal(paid.order.id);
  assert.equal(final.status, 'success');
  assert.equal(final.resolvedBy, 'query');
  assert.ok(final.queryAttempts >= 2, `queried ${final.queryAttempts} times while the bank did not know yet`);
  assert.equal(await h.sims.beta.txn(paid.order.id), undefined, 'an unknown order is never re-sent to another bank');
});

test('timeouts (accepted, never answered, no callback) are resolved by query, success and failure alike', async () => {
  await h.sims.beta.behaviour({ timeout_rate: 1 });
  try {
    const good = await h.bindCard('6217000022220000');
    const bad = await h.bindCard('6217000022220002');
    const gateway = h.platform.runtime.channel;
    const ok = await gateway.pay({ instructionId: 'timeout-ok', agreementId: good, amount: 100n, ctx });
    const ko = await gateway.pay({ instructionId: 'timeout-ko', agreementId: bad, amount: 100n, ctx });
    assert.ok(ok.ok && ko.ok);
    const [okFinal, koFinal] = await Promise.all([h.waitFinal(ok.order.id), h.waitFinal(ko.order.id)]);
    assert.deepEqual([okFinal.status, okFinal.resolvedBy], ['success', 'query']);
    assert.deepEqual([koFinal.status, koFinal.resultCode, koFinal.resolvedBy], ['failed', 'DECLINED', 'query']);
  } finally {
    await h.sims.beta.behaviour({ timeout_rate: 0 });
  }
});

test('duplicate callbacks: each order finishes once, one event, one listener call', async () => {
  await h.sims.alpha.behaviour({ duplicate_callback_rate: 1 });
  const gateway = h.platform.runtime.channel;
  const heard = new Map<string, number>();
  const off = gateway.onResult((order) => void heard.set(order.id, (heard.get(order.id) ?? 0) + 1));
  try {
    const agreement = await h.bindCard('6222000033330000');
    const before = (await h.sims.alpha.info()).counters.callbacksSent;
    const orders = [];
    for (let i = 0; i < 5; i += 1) {
      const paid = await gateway.pay({ instructionId: `dup-${i}`, agreementId: agreement, amount: 100n + BigInt(i), ctx });
      assert.ok(paid.ok);
      orders.push(paid.order.id);
    }
    for (const id of orders) assert.equal((await h.waitFinal(id)).status, 'success');
    await eventually('every duplicate sent', async () => (await h.sims.alpha.info()).counters.callbacksSent - before >= 10);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const id of orders) {
      assert.equal(await finalCount(id), 1);
      assert.equal(heard.get(id), 1);
      assert.equal(await anomalies(id, 'conflicting_result'), 0);
    }
  } finally {
    off();
    await h.sims.alpha.behaviour({ duplicate_callback_rate: 0 });
  }
});

test('a late callback after the query resolved the order changes nothing', async () => {
  await h.sims.beta.behaviour({ late_callback_ms: 2_000 });
  try {
    const agreement = await h.bindCard('6217000044440000');
    const paid = await h.platform.runtime.channel.pay({ instructionId: 'late-cb', agreementId: agreement, amount: 4_200n, ctx });
    assert.ok(paid.ok);
    const final = await h.waitFinal(paid.order.id);
    assert.deepEqual([final.status, final.resolvedBy], ['success', 'query'], 'no callback within the wait: the query found it');
    const sent = (await h.sims.beta.info()).counters.callbacksSent;
    await eventually('the late callback', async () => (await h.sims.beta.info()).counters.callbacksSent > sent, 5_000);
    const after = await h.platform.runtime.channel.getOrder(paid.order.id);
    assert.deepEqual([after?.status, after?.resolvedBy, after?.finishedAt?.getTime()], ['success', 'query', final.finishedAt?.getTime()]);
    assert.equal(await finalCount(paid.order.id), 1);
  } finally {
    await h.sims.beta.behaviour({ late_callback_ms: 0 });
  }
});

test('a late "failed" after "success" (and a late "success" after "failed") never flips the status', async () => {
  const gateway = h.platform.runtime.channel;
  const good = await h.bindCard('6222000055550000');
  const paid = await gateway.pay({ instructionId: 'flip-me', agreementId: good, amount: 999n, ctx });
  assert.ok(paid.ok);
  const done = await h.waitFinal(paid.order.id);
  assert.equal(done.status, 'success');
  const answer = await post('alpha', alphaCallback({ requestId: paid.order.id, bankRef: done.bankRef, service: 'PAY', amount: '999', currency: 'CNY', status: 'FAILED', reason: 'DECLINED', finishedAt: new Date().toISOString() }));
  assert.equal(answer.status, 200, 'a genuine (signed) callback is acknowledged even when it is refused');
  assert.equal((await gateway.getOrder(paid.order.id))?.status, 'success');
  assert.equal(await anomalies(paid.order.id, 'conflicting_result'), 1);

  const bad = await h.bindCard('6217000055550002');
  const declined = await gateway.pay({ instructionId: 'flip-me-too', agreementId: bad, amount: 50n, ctx });
  assert.ok(declined.ok);
  const failed = await h.waitFinal(declined.order.id);
  assert.equal(failed.status, 'failed');
  const late = await post('beta', betaCallback({ out_trade_no: declined.order.id, trade_no: failed.bankRef ?? 'X', trade_type: 'PAY', total_fee: '0.50', fee_type: 'CNY', trade_status: 'TRADE_SUCCESS' }));
  assert.deepEqual(late, { status: 200, body: 'success' });
  assert.equal((await gateway.getOrder(declined.order.id))?.status, 'failed');
  assert.equal(await anomalies(declined.order.id, 'conflicting_result'), 1);
  assert.equal(await finalCount(declined.order.id), 1);
});

test('forged callbacks are refused and recorded; the order is untouched', async () => {
  await h.sims.beta.behaviour({ unknown_settle_ms: 60_000 });
  const agreement = await h.bindCard('6217000066660119');
  const paid = await h.platform.runtime.channel.pay({ instructionId: 'forge-target', agreementId: agreement, amount: 1_000n, ctx });
  assert.ok(paid.ok);
  const before = await anomalies(null, 'forged_callback');
  const fields = { out_trade_no: paid.order.id, trade_no: 'FAKE', trade_type: 'PAY', total_fee: '10.00', fee_type: 'CNY', trade_status: 'TRADE_SUCCESS' };
  const wrongKey = await post('beta', betaCallback(fields, 'not-the-beta-secret-at-all'));
  assert.deepEqual(wrongKey, { status: 401, body: 'fail' });
  const tampered = betaCallback(fields);
  const altered = await post('beta', { headers: tampered.headers, body: tampered.body.replace('total_fee=10.00', 'total_fee=1.00') });
  assert.equal(altered.status, 401);
  const alphaForged = alphaCallback({ requestId: paid.order.id, bankRef: 'X', service: 'PAY', amount: '1000', currency: 'CNY', status: 'SUCCESS', reason: null, finishedAt: null }, 'not-the-alpha-secret-at-all');
  assert.equal((await post('alpha', alphaForged)).status, 401);
  const unsigned = await post('alpha', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: 'TXN_RESULT' }) });
  assert.equal(unsigned.status, 401);
  assert.equal((await post('gamma', alphaForged)).status, 404);
  assert.equal(await anomalies(null, 'forged_callback'), before + 4);
  const order = await h.platform.runtime.channel.getOrder(paid.order.id);
  assert.ok(order?.status === 'processing' || order?.status === 'unknown', `still open, was ${order?.status}`);
  assert.equal(await finalCount(paid.order.id), 0);
});

test('a signed result with another amount, or for a request we never made, is refused and recorded', async () => {
  await h.sims.alpha.behaviour({ unknown_settle_ms: 60_000 });
  const agreement = await h.bindCard('6222000088880119');
  const paid = await h.platform.runtime.channel.pay({ instructionId: 'amount-target', agreementId: agreement, amount: 2_500n, ctx });
  assert.ok(paid.ok);
  const wrongAmount = await post('alpha', alphaCallback({ requestId: paid.order.id, bankRef: 'X1', service: 'PAY', amount: '2400', currency: 'CNY', status: 'SUCCESS', reason: null, finishedAt: new Date().toISOString() }));
  assert.equal(wrongAmount.status, 200);
  assert.equal(await anomalies(paid.order.id, 'amount_mismatch'), 1);
  const order = await h.platform.runtime.channel.getOrder(paid.order.id);
  assert.ok(order?.status === 'processing' || order?.status === 'unknown', `still open, was ${order?.status}`);
  const before = await anomalies(null, 'unknown_order');
  const stranger = await post('alpha', alphaCallback({ requestId: '01900000-0000-7000-8000-000000000bad', bankRef: 'X2', service: 'PAY', amount: '100', currency: 'CNY', status: 'SUCCESS', reason: null, finishedAt: null }));
  assert.equal(stranger.status, 200, 'acknowledged, so the bank stops retrying');
  assert.equal(await anomalies(null, 'unknown_order'), before + 1);
  const wrongBank = await post('beta', betaCallback({ out_trade_no: paid.order.id, trade_no: 'X3', trade_type: 'PAY', total_fee: '25.00', fee_type: 'CNY', trade_status: 'TRADE_SUCCESS' }));
  assert.deepEqual(wrongBank, { status: 200, body: 'success' });
  assert.equal(await anomalies(null, 'unknown_order'), before + 2, "beta cannot finish alpha's order");
  assert.equal(await finalCount(paid.order.id), 0);
});

test('bank-side failures (failure rate) fail orders with SYSTEM_ERROR and open the circuit; it closes after recovery', async () => {
  const gateway = h.platform.runtime.channel;
  const agreement = await h.bindCard('6217000077770000');
  const beta = () => gateway.listChannels().then((list) => list.find((c) => c.bank === 'beta')!);
  await h.sims.beta.behaviour({ failure_rate: 1 });
  try {
    for (let i = 0; i < 12 && (await beta()).live.state === 'closed'; i += 1) {
      const paid = await gateway.pay({ instructionId: `sys-err-${i}`, agreementId: agreement, amount: 100n, ctx });
      if (!paid.ok) break;
      const final = await h.waitFinal(paid.order.id);
      assert.deepEqual([final.status, final.resultCode], ['failed', 'SYSTEM_ERROR']);
    }
    assert.notEqual((await beta()).live.state, 'closed', 'the circuit opened');
    assert.deepEqual(await gateway.pay({ instructionId: 'sys-err-blocked', agreementId: agreement, amount: 100n, ctx }), { ok: false, reason: 'NO_CHANNEL' });
    const repeat = await gateway.pay({ instructionId: 'sys-err-0', agreementId: agreement, amount: 100n, ctx });
    assert.ok(repeat.ok && !repeat.created, 'a repeat gets its order even with no channel open');
  } finally {
    await h.sims.beta.behaviour({ failure_rate: 0 });
  }
  await eventually('circuit closed again', async () => (await beta()).live.state === 'closed', 8_000);
  const paid = await gateway.pay({ instructionId: 'sys-err-after', agreementId: agreement, amount: 100n, ctx });
  assert.ok(paid.ok);
  assert.equal((await h.waitFinal(paid.order.id)).status, 'success');
});
