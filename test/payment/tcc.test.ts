/**
 * Full TCC: the ledger and marketing live in databases of their own, so paying runs try
 * (freeze + coupon reserve) → confirm (one voucher from the hold, coupon used) through the
 * activity log. Crashes injected between the phases are finished by the recovery pass; a try that
 * arrives after its cancel (hanging) is refused; nothing stays frozen.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { activityLog } from '../../src/payment/index.js';
import { assertLedgerCheck, startTradeHarness, type TradeHarness } from '../trade/trade-support.js';

let h: TradeHarness;

before(async () => {
  h = await startTradeHarness('tcc', { separate: ['ledger', 'marketing'] });
  assert.equal(h.platform.databases.shareDatabase('payment', 'ledger'), false);
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

const manager = () => h.platform.runtime.trade.payment.manager;
const payment = () => h.platform.runtime.trade.payment;
const later = () => new Date(Date.now() + 120_000);

async function phases(tradeId: string): Promise<string[]> {
  const [order] = await payment().ordersOfTrade(tradeId);
  assert.ok(order);
  return (await activityLog(h.platform.databases.get('payment'), order.id)).map((l) => l.phase);
}

async function coupon(memberId: string, amount: number): Promise<string> {
  const reply = await h.api('POST', '/v1/coupons', { member_id: memberId, amount, expires_at: new Date(Date.now() + 86_400_000).toISOString() });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body.id as string;
}

async function setup(funds: bigint) {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  if (funds > 0n) await h.fund(buyer.accountId, funds);
  return { buyer, seller };
}

test('balance + coupon, two-phase: try (freeze + reserve), confirm (one voucher moves the hold and the coupon money, the coupon used)', async () => {
  const { buyer, seller } = await setup(10_000n);
  const couponId = await coupon(buyer.id, 300);
  const issued = await h.platform.runtime.marketing.issuedAccountId();
  const issuedBefore = (await h.balance(issued)).posted;
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }, { tool: 'coupon', coupon_id: couponId }] });
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  assert.equal(paid.body.status, 'success');
  assert.deepEqual(await phases(trade.id), ['trying', 'confirming', 'confirmed']);
  const types = await sql<{ type: string }>`select type from trade.outbox where key = ${trade.id} order by seq`.execute(h.platform.databases.get('trade'));
  assert.deepEqual(
    types.rows.map((r) => r.type),
    ['trade.created', 'trade.payment_started', 'trade.paid', 'payment.reported'],
  );
  assert.deepEqual(await h.balance(buyer.accountId), { ...(await h.balance(buyer.accountId)), posted: 9_300n, frozen: 0n });
  assert.equal((await h.balance(seller.accountId)).posted, 1_000n);
  assert.equal((await h.balance(issued)).posted, issuedBefore - 300n);
  assert.equal((await h.api('GET', `/v1/coupons/${couponId}`)).body.status, 'used');
  const [order] = await payment().ordersOfTrade(trade.id);
  assert.equal(order!.tcc, 'two_phase');
  assert.deepEqual(
    (order!.methods as Array<{ tool: string; amount: string }>).map((m) => [m.tool, m.amount]),
    [
      ['coupon', '300'],
      ['balance', '700'],
    ],
  );
  // Confirm moved the hold and the coupon's money in one voucher: buyer 700 and issuer 300 to the seller.
  const activityId = order!.id; // a payment order's activity has its id
  const vouchers = await sql<{ reference: string; lines: string }>`
    select v.reference, string_agg(e.amount::text, ',' order by e.amount) as lines
    from ledger.voucher v join ledger.entry e on e.voucher_id = v.id
    where v.reference like ${`${activityId}%`} group by v.reference`.execute(h.platform.databases.get('ledger'));
  assert.deepEqual(vouchers.rows, [{ reference: `${activityId}:hold`, lines: '-700,-300,1000' }]);
  // The coupon is spent: a second trade cannot use it.
  const next = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  const reuse = await h.api('POST', `/v1/trades/${next.id}/pay`, { methods: [{ tool: 'coupon', coupon_id: couponId }, { tool: 'balance' }] });
  assert.equal(reuse.status, 422);
  assert.equal(reuse.body.error.code, 'TOOL_NOT_AVAILABLE');
});

test('a crash after try is cancelled by recovery: nothing frozen, the coupon back, the trade payable again', async () => {
  const { buyer, seller } = await setup(5_000n);
  const couponId = await coupon(buyer.id, 200);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  manager().hooks.afterTry = () => {
    throw new Error('crash after try');
  };
  try {
    const crashed = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'coupon', coupon_id: couponId }, { tool: 'balance' }] });
    assert.equal(crashed.status, 500);
  } finally {
    manager().hooks.afterTry = undefined;
  }
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'paying');
  assert.equal((await h.balance(buyer.accountId)).frozen, 800n);
  assert.equal((await h.api('GET', `/v1/coupons/${couponId}`)).body.status, 'reserved');
  // A fresh activity is left alone (it may still be running); one that tried too long is cancelled.
  await payment().recover(new Date());
  assert.equal((await h.balance(buyer.accountId)).frozen, 800n);
  await payment().recover(later());
  assert.deepEqual(await phases(trade.id), ['trying', 'cancelling', 'cancelled']);
  assert.equal((await h.balance(buyer.accountId)).frozen, 0n);
  assert.equal((await h.balance(buyer.accountId)).posted, 5_000n);
  assert.equal((await h.api('GET', `/v1/coupons/${couponId}`)).body.status, 'available');
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'wait_pay');
  const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'coupon', coupon_id: couponId }, { tool: 'balance' }] });
  assert.equal(paid.body.status, 'success');
  assert.equal((await h.balance(buyer.accountId)).posted, 4_200n);
});

test('a crash after the decision to confirm is confirmed by recovery; confirming again changes nothing', async () => {
  const { buyer, seller } = await setup(5_000n);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_500 });
  manager().hooks.afterConfirming = () => {
    throw new Error('crash after confirming');
  };
  try {
    assert.equal((await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] })).status, 500);
  } finally {
    manager().hooks.afterConfirming = undefined;
  }
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'paying');
  assert.equal((await h.balance(buyer.accountId)).frozen, 1_500n);
  await payment().recover(later());
  await payment().recover(later());
  const [order] = await payment().ordersOfTrade(trade.id);
  await manager().confirm(order!.id);
  assert.deepEqual(await phases(trade.id), ['trying', 'confirming', 'confirmed']);
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'success');
  assert.deepEqual(await h.balance(buyer.accountId), { ...(await h.balance(buyer.accountId)), posted: 3_500n, frozen: 0n });
  assert.equal((await h.balance(seller.accountId)).posted, 1_500n);
});

test('hanging: recovery cancels before the try arrives; the late try is refused and nothing is frozen', async () => {
  const { buyer, seller } = await setup(5_000n);
  const couponId = await coupon(buyer.id, 100);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  let resume!: () => void;
  const paused = new Promise<void>((resolve) => (resume = resolve));
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  manager().hooks.beforeTry = async () => {
    entered();
    await paused;
  };
  const paying = h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'coupon', coupon_id: couponId }, { tool: 'balance' }] });
  await inside;
  manager().hooks.beforeTry = undefined;
  // Empty cancel: no participant has tried yet; each leaves a tombstone.
  await payment().recover(later());
  resume();
  const reply = await paying;
  assert.equal(reply.status, 422, JSON.stringify(reply.body));
  assert.equal((await h.balance(buyer.accountId)).frozen, 0n);
  assert.equal((await h.api('GET', `/v1/coupons/${couponId}`)).body.status, 'available');
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'wait_pay');
  assert.deepEqual(await phases(trade.id), ['trying', 'cancelling', 'cancelled']);
});

test('insufficient funds in try: cancelled at once, the reserved coupon given back', async () => {
  const { buyer, seller } = await setup(100n);
  const couponId = await coupon(buyer.id, 100);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  const reply = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }, { tool: 'coupon', coupon_id: couponId }] });
  assert.equal(reply.status, 422);
  assert.equal(reply.body.error.code, 'INSUFFICIENT_FUNDS');
  assert.equal((await h.api('GET', `/v1/coupons/${couponId}`)).body.status, 'available');
  assert.equal((await h.balance(buyer.accountId)).frozen, 0n);
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'wait_pay');
});

test('refund and escrow release under full TCC: the refund holds the seller (or escrow) first, then posts', async () => {
  const { buyer, seller } = await setup(3_000n);
  const trade = await h.trade({ type: 'escrow', buyer_id: buyer.id, seller_id: seller.id, amount: 3_000 });
  assert.equal((await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] })).body.status, 'success');
  const refund = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: `TR-${trade.id}`, amount: 1_000 });
  assert.equal(refund.body.status, 'success', JSON.stringify(refund.body));
  const orders = await payment().ordersOfTrade(refund.body.id);
  assert.deepEqual(
    orders.map((o) => [o.kind, o.status, o.tcc]),
    [['refund', 'success', 'two_phase']],
  );
  assert.deepEqual((await activityLog(h.platform.databases.get('payment'), orders[0]!.id)).map((l) => l.phase), ['trying', 'confirming', 'confirmed']);
  const confirmed = await h.api('POST', `/v1/trades/${trade.id}/confirm`);
  assert.equal(confirmed.body.status, 'finished');
  assert.equal((await h.balance(seller.accountId)).posted, 2_000n);
  assert.equal((await h.balance(buyer.accountId)).posted, 1_000n);
  for (const account of [buyer.accountId, seller.accountId]) assert.equal((await h.balance(account)).frozen, 0n);
});
