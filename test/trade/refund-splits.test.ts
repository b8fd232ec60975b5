/**
 * Refunds of a trade with splits take the money back from every receiver in proportion to what
 * each got (largest remainder on the cumulative total, the seller absorbing what caps move), to
 * the cent across partial refunds, never more than each got; all or nothing: a receiver without
 * the money fails the refund with nothing moved. Run with the ledger in the payment database
 * (one voucher per refund) and in a database of its own (TCC: every receiver frozen at try).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { receiversOf, refundShares } from '../../src/trade/refund-shares.js';
import { assertLedgerCheck, eventually, startTradeHarness, type TradeHarness } from './trade-support.js';

const harnesses: Record<'shared' | 'separate', TradeHarness | undefined> = { shared: undefined, separate: undefined };

before(async () => {
  harnesses.shared = await startTradeHarness('rsplit');
  harnesses.separate = await startTradeHarness('rsplitsep', { separate: ['ledger', 'marketing'] });
});
after(async () => {
  for (const h of Object.values(harnesses)) {
    if (h) await assertLedgerCheck(h.platform);
    await h?.close();
  }
});

test('shares: largest remainder on the cumulative total, exact to the cent, capped by what each got', () => {
  const taken = new Map<string, bigint>();
  const take = (amount: bigint) => {
    const receivers = receiversOf('seller', [{ memberId: 'platform', amount: 800n }, { memberId: 'logistics', amount: 300n }], 10_000n, taken);
    const parts = refundShares(receivers, amount);
    receivers.forEach((r, i) => taken.set(r.memberId, r.taken + parts[i]!));
    return parts;
  };
  assert.deepEqual(take(333n), [296n, 27n, 10n]);
  assert.deepEqual(take(1_000n), [890n, 80n, 30n]);
  assert.deepEqual(take(8_667n), [7_714n, 693n, 260n]);
  // One cent: the largest remainder (the seller's 0.89) takes it.
  assert.deepEqual(refundShares(receiversOf('s', [{ memberId: 'a', amount: 800n }, { memberId: 'b', amount: 300n }], 10_000n, new Map()), 1n), [1n, 0n, 0n]);
  // A receiver already taken more than its share (older refunds) is capped; the seller absorbs.
  const capped = refundShares(receiversOf('s', [{ memberId: 'a', amount: 100n }], 1_000n, new Map([['a', 100n]])), 500n);
  assert.deepEqual(capped, [500n, 0n]);
});

/** The ledger vouchers a refund's payment activity posted (one-phase: one). */
async function vouchersOf(h: TradeHarness, refundId: string): Promise<number> {
  const row = await h.platform.databases.get<any>('trade').selectFrom('trade.trade_order').select('payment_order_id').where('id', '=', refundId).executeTakeFirstOrThrow();
  const rows = await sql<{ n: number }>`select count(*)::int as n from ledger.voucher where source = 'payment' and reference like ${`${row.payment_order_id}%`}`.execute(h.platform.databases.get('ledger'));
  return rows.rows[0]!.n;
}

for (const mode of ['shared', 'separate'] as const) {
  test(`${mode} ledger: a COD-like trade with two splits, two partial refunds and a final one, exact to the cent`, async () => {
    const h = harnesses[mode]!;
    const transit = await h.member('transit', 'merchant');
    const buyer = await h.member('buyer');
    const seller = await h.member('seller', 'merchant');
    const platform = await h.member('platform-income', 'merchant');
    const logistics = await h.member('logistics', 'merchant');
    // The courier's cash reaches the transit account, which pays it on to the buyer.
    await h.fund(transit.accountId, 10_000n);
    const toBuyer = await h.api('POST', '/v1/transfers', { out_biz_no: `cod-${mode}-transit`, from_member_id: transit.id, to_member_id: buyer.id, amount: 10_000 });
    assert.equal(toBuyer.body.status, 'success', JSON.stringify(toBuyer.body));
    const trade = await h.trade({
      type: 'instant',
      buyer_id: buyer.id,
      seller_id: seller.id,
      amount: 10_000,
      splits: [
        { member_id: platform.id, amount: 800, memo: 'platform commission' },
        { member_id: logistics.id, amount: 300, memo: 'logistics fee' },
      ],
    });
    const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
    assert.equal(paid.body.status, 'success', JSON.stringify(paid.body));
    const posted = async () => Promise.all([buyer, seller, platform, logistics].map(async (m) => (await h.balance(m.accountId)).posted));
    assert.deepEqual(await posted(), [0n, 8_900n, 800n, 300n]);

    const steps: Array<[number, bigint[]]> = [
      [333, [333n, 8_604n, 773n, 290n]],
      [1_000, [1_333n, 7_714n, 693n, 260n]],
      [8_667, [10_000n, 0n, 0n, 0n]],
    ];
    for (const [n, [amount, expected]] of steps.entries()) {
      const refund = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: `RS-${mode}-${n}`, amount });
      assert.equal(refund.status, 201, JSON.stringify(refund.body));
      assert.equal(refund.body.status, 'success');
      assert.deepEqual(await posted(), expected);
      if (mode === 'shared') assert.equal(await vouchersOf(h, refund.body.id), 1, 'one voucher takes every share back');
    }
    const after = await h.api('GET', `/v1/trades/${trade.id}`);
    assert.equal(after.body.status, 'closed');
    assert.equal(after.body.refunded_amount, 10_000);
    for (const m of [seller, platform, logistics]) assert.equal((await h.balance(m.accountId)).frozen, 0n);
    const more = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: `RS-${mode}-more`, amount: 1 });
    assert.equal(more.body.error.code, 'TRADE_NOT_REFUNDABLE');
  });

  test(`${mode} ledger: a split receiver without the money fails the refund, nothing moved`, async () => {
    const h = harnesses[mode]!;
    const buyer = await h.member('buyer');
    const seller = await h.member('seller', 'merchant');
    const platform = await h.member('platform-income', 'merchant');
    const logistics = await h.member('logistics', 'merchant');
    await h.fund(buyer.accountId, 2_000n);
    const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 2_000, splits: [{ member_id: platform.id, amount: 400 }, { member_id: logistics.id, amount: 100 }] });
    assert.equal((await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] })).body.status, 'success');
    const elsewhere = await h.member('elsewhere');
    const spent = await h.api('POST', '/v1/transfers', { out_biz_no: `spend-${trade.id}`, from_member_id: platform.id, to_member_id: elsewhere.id, amount: 350 });
    assert.equal(spent.body.status, 'success', JSON.stringify(spent.body));
    const balances = async () => Promise.all([buyer, seller, platform, logistics].map(async (m) => { const b = await h.balance(m.accountId); return [b.posted, b.frozen]; }));
    const before = await balances();
    // The platform's share of 1,000 is 200; it has 50.
    const refused = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: `RP-${mode}`, amount: 1_000 });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'INSUFFICIENT_FUNDS');
    assert.deepEqual(await balances(), before);
    assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.refunded_amount, 0);
    assert.equal((await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: `RP-${mode}`, amount: 1_000 })).body.status, 'failed');
    // A refund small enough for what the platform has left goes through: 200 → seller 150, platform 40, logistics 10.
    const small = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: `RP-${mode}-small`, amount: 200 });
    assert.equal(small.body.status, 'success', JSON.stringify(small.body));
    assert.deepEqual((await balances()).map(([posted]) => posted), [200n, 1_350n, 10n, 90n]);
  });
}

test('a card-paid trade with splits: the refund freezes every receiver, goes back to the card, then takes each share', async () => {
  const h = harnesses.shared!;
  const buyer = await h.member('buyer');
  const seller = await h.member('seller', 'merchant');
  const platform = await h.member('platform-income', 'merchant');
  const card = await h.card(buyer.id);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 3_000, splits: [{ member_id: platform.id, amount: 600 }] });
  await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'card', card_id: card }] });
  await eventually(async () => (await h.api('GET', `/v1/trades/${trade.id}`)).body.status === 'success', 'card payment');
  h.channel.mode = 'manual';
  try {
    const refund = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'RC-card', amount: 1_001 });
    assert.equal(refund.status, 201, JSON.stringify(refund.body));
    assert.equal(refund.body.status, 'processing');
    // While the bank refunds: 1,001 × 2,400/3,000 = 800.8 → 801 from the seller, 200 from the platform, frozen.
    assert.deepEqual([(await h.balance(seller.accountId)).frozen, (await h.balance(platform.accountId)).frozen], [801n, 200n]);
    const order = h.channel.byService('refund').at(-1)!;
    assert.equal(order.amount, 1_001n);
    h.channel.settle(order.id, 'success');
    await eventually(async () => (await h.api('GET', `/v1/refunds/${refund.body.id}`)).body.status === 'success', 'refund success');
  } finally {
    h.channel.mode = 'success';
  }
  const [s, p] = [await h.balance(seller.accountId), await h.balance(platform.accountId)];
  assert.deepEqual([s.posted, s.frozen, p.posted, p.frozen], [1_599n, 0n, 400n, 0n]);
});

test('a card refund the bank declines releases every receiver', async () => {
  const h = harnesses.shared!;
  const buyer = await h.member('buyer');
  const seller = await h.member('seller', 'merchant');
  const platform = await h.member('platform-income', 'merchant');
  const card = await h.card(buyer.id);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000, splits: [{ member_id: platform.id, amount: 100 }] });
  await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'card', card_id: card }] });
  await eventually(async () => (await h.api('GET', `/v1/trades/${trade.id}`)).body.status === 'success', 'card payment');
  h.channel.mode = 'failed';
  try {
    const refund = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'RC-declined', amount: 1_000 });
    // The bank's decline may come back while the request still waits for it (422), or after (201, then failed).
    if (refund.status === 422) assert.equal(refund.body.error.code, 'PAYMENT_FAILED', JSON.stringify(refund.body));
    else {
      assert.equal(refund.status, 201, JSON.stringify(refund.body));
      await eventually(async () => (await h.api('GET', `/v1/refunds/${refund.body.id}`)).body.status === 'failed', 'refund failed');
    }
  } finally {
    h.channel.mode = 'success';
  }
  const [s, p] = [await h.balance(seller.accountId), await h.balance(platform.accountId)];
  assert.deepEqual([s.posted, s.frozen, p.posted, p.frozen], [900n, 0n, 100n, 0n]);
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.refunded_amount, 0);
});

test('an escrow trade with splits: refunded from escrow before release, from the receivers after, by what the release paid', async () => {
  const h = harnesses.shared!;
  const buyer = await h.member('buyer');
  const seller = await h.member('seller', 'merchant');
  const platform = await h.member('platform-income', 'merchant');
  await h.fund(buyer.accountId, 5_000n);
  const trade = await h.trade({ type: 'escrow', buyer_id: buyer.id, seller_id: seller.id, amount: 5_000, splits: [{ member_id: platform.id, amount: 1_000 }] });
  assert.equal((await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] })).body.status, 'success');
  // From escrow while it holds the money: the receivers are not touched.
  assert.equal((await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'RE-1', amount: 1_000 })).body.status, 'success');
  assert.equal((await h.api('POST', `/v1/trades/${trade.id}/confirm`)).body.status, 'finished');
  // The release paid 4,000: platform 1,000, seller 3,000. A refund of 401 → seller 301 (300.75), platform 100 (100.25).
  assert.deepEqual([(await h.balance(seller.accountId)).posted, (await h.balance(platform.accountId)).posted], [3_000n, 1_000n]);
  assert.equal((await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'RE-2', amount: 401 })).body.status, 'success');
  assert.deepEqual([(await h.balance(seller.accountId)).posted, (await h.balance(platform.accountId)).posted], [2_699n, 900n]);
  assert.equal((await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'RE-3', amount: 3_599 })).body.status, 'success');
  assert.deepEqual([(await h.balance(buyer.accountId)).posted, (await h.balance(seller.accountId)).posted, (await h.balance(platform.accountId)).posted], [5_000n, 0n, 0n]);
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'closed');
});
