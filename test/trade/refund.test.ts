/**
 * Refunds over HTTP: partial and repeated, their sum never above what was paid (50 concurrent
 * requests included), replay and conflict by out_refund_no, a full refund closes the trade, a
 * seller without the money is refused with nothing changed but a failed refund.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertLedgerCheck, startTradeHarness, type TradeHarness } from './trade-support.js';

let h: TradeHarness;

before(async () => {
  h = await startTradeHarness('refund');
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

async function paidTrade(amount: number, extra: Record<string, unknown> = {}) {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  await h.fund(buyer.accountId, BigInt(amount));
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount, ...extra });
  const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(paid.body.status, 'success', JSON.stringify(paid.body));
  return { buyer, seller, trade };
}

test('partial and repeated refunds, replay and conflict; the last one closes the trade', async () => {
  const { buyer, seller, trade } = await paidTrade(1_000);
  const first = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-1', amount: 300, reason: 'damaged' });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.deepEqual({ ...first.body, id: undefined, created_at: undefined, finished_at: undefined }, {
    id: undefined,
    trade_id: trade.id,
    out_refund_no: 'R-1',
    type: 'refund',
    amount: 300,
    currency: 'CNY',
    status: 'success',
    reason: 'damaged',
    created_at: undefined,
    finished_at: undefined,
  });
  const replay = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-1', amount: 300, reason: 'damaged' });
  assert.equal(replay.status, 200);
  assert.equal(replay.body.id, first.body.id);
  const conflict = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-1', amount: 301, reason: 'damaged' });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, 'OUT_REFUND_NO_CONFLICT');
  const too = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-2', amount: 701 });
  assert.equal(too.status, 422);
  assert.equal(too.body.error.code, 'REFUND_EXCEEDS_PAID');
  assert.equal(too.body.error.details.refundable, 700);
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.refunded_amount, 300);
  const rest = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-3', amount: 700 });
  assert.equal(rest.body.status, 'success');
  const after = await h.api('GET', `/v1/trades/${trade.id}`);
  assert.equal(after.body.status, 'closed');
  assert.equal(after.body.refunded_amount, 1_000);
  assert.equal((await h.balance(buyer.accountId)).posted, 1_000n);
  assert.equal((await h.balance(seller.accountId)).posted, 0n);
  const got = await h.api('GET', `/v1/refunds/${first.body.id}`);
  assert.deepEqual(got.body, first.body);
  const other = await h.platform.newClient('other');
  assert.equal((await h.api('GET', `/v1/refunds/${first.body.id}`, undefined, other.apiKey)).status, 404);
});

test('an unpaid trade has nothing to refund; a bad amount is 400', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  const reply = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-unpaid', amount: 10 });
  assert.equal(reply.status, 409);
  assert.equal(reply.body.error.code, 'TRADE_NOT_REFUNDABLE');
  for (const amount of [0, -1, 2.5, '10']) {
    const bad = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-bad', amount });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'INVALID_AMOUNT');
  }
});

test('50 concurrent refunds never exceed the paid amount', async () => {
  const { buyer, seller, trade } = await paidTrade(2_000);
  const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: `RC-${i}`, amount: 100 })));
  const ok = replies.filter((r) => r.status === 201);
  assert.equal(ok.length, 20, JSON.stringify(replies.map((r) => r.status)));
  assert.ok(replies.filter((r) => r.status !== 201).every((r) => r.status === 422 && r.body.error.code === 'REFUND_EXCEEDS_PAID'));
  const after = await h.api('GET', `/v1/trades/${trade.id}`);
  assert.equal(after.body.refunded_amount, 2_000);
  assert.equal(after.body.status, 'closed');
  assert.equal((await h.balance(buyer.accountId)).posted, 2_000n);
  assert.equal((await h.balance(seller.accountId)).posted, 0n);
});

test('a seller who spent the money: the refund fails (422), what it reserved is refundable again', async () => {
  const { seller, trade } = await paidTrade(500);
  const elsewhere = await h.member('elsewhere');
  const moved = await h.api('POST', '/v1/transfers', { out_biz_no: `spend-${trade.id}`, from_member_id: seller.id, to_member_id: elsewhere.id, amount: 400 });
  assert.equal(moved.status, 201, JSON.stringify(moved.body));
  const refused = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-poor', amount: 300 });
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error.code, 'INSUFFICIENT_FUNDS');
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.refunded_amount, 0);
  const replay = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-poor', amount: 300 });
  assert.equal(replay.body.status, 'failed');
  const small = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R-small', amount: 100 });
  assert.equal(small.body.status, 'success');
});
