/**
 * Escrow trades: paid into the platform's escrow account, released to the seller and split
 * receivers on confirmation or automatically after the period; a refund before release comes out
 * of escrow, and the release pays only what is left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertLedgerCheck, eventually, startTradeHarness, type TradeHarness } from './trade-support.js';

let h: TradeHarness;
let escrow: string;

before(async () => {
  h = await startTradeHarness('escrow');
  escrow = await h.platform.runtime.trade.payment.accounts.escrow('CNY');
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

async function paidEscrow(amount: number, splits: Array<{ member_id: string; amount: number }> = []) {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  await h.fund(buyer.accountId, BigInt(amount));
  const trade = await h.trade({ type: 'escrow', buyer_id: buyer.id, seller_id: seller.id, amount, splits });
  const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(paid.body.status, 'success', JSON.stringify(paid.body));
  return { buyer, seller, trade: paid.body };
}

test('escrow: paid into escrow, confirmed → finished, seller and splits paid; confirming again is harmless', async () => {
  const fee = await h.member('platform', 'merchant');
  const escrowBefore = (await h.balance(escrow)).posted;
  const { seller, trade } = await paidEscrow(3_000, [{ member_id: fee.id, amount: 300 }]);
  assert.ok(trade.confirm_due_at);
  assert.equal((await h.balance(escrow)).posted - escrowBefore, 3_000n);
  assert.equal((await h.balance(seller.accountId)).posted, 0n);
  const confirmed = await h.api('POST', `/v1/trades/${trade.id}/confirm`);
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  assert.equal(confirmed.body.status, 'finished');
  assert.ok(confirmed.body.finished_at);
  assert.equal((await h.balance(seller.accountId)).posted, 2_700n);
  assert.equal((await h.balance(fee.accountId)).posted, 300n);
  assert.equal((await h.balance(escrow)).posted, escrowBefore);
  const again = await h.api('POST', `/v1/trades/${trade.id}/confirm`);
  assert.equal(again.status, 200);
  assert.equal((await h.balance(seller.accountId)).posted, 2_700n);
});

test('confirm refusals: an unpaid escrow trade, an instant trade', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  const unpaid = await h.trade({ type: 'escrow', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  const early = await h.api('POST', `/v1/trades/${unpaid.id}/confirm`);
  assert.equal(early.status, 409);
  assert.equal(early.body.error.code, 'TRADE_NOT_CONFIRMABLE');
  const instant = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  assert.equal((await h.api('POST', `/v1/trades/${instant.id}/confirm`)).body.error.code, 'TRADE_NOT_CONFIRMABLE');
});

test('auto-confirm after the configured period', async () => {
  const { seller, trade } = await paidEscrow(1_000);
  const due = new Date(trade.confirm_due_at as string).getTime();
  await h.platform.runtime.trade.runJobs(new Date(due - 1_000));
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'success');
  await h.platform.runtime.trade.runJobs(new Date(due + 1_000));
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'finished');
  assert.equal((await h.balance(seller.accountId)).posted, 1_000n);
});

test('a refund before release comes out of escrow; the release pays the rest; later refunds come from the seller', async () => {
  const { buyer, seller, trade } = await paidEscrow(1_000);
  const refund = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'E-1', amount: 400 });
  assert.equal(refund.body.status, 'success', JSON.stringify(refund.body));
  assert.equal((await h.balance(buyer.accountId)).posted, 400n);
  const confirmed = await h.api('POST', `/v1/trades/${trade.id}/confirm`);
  assert.equal(confirmed.body.status, 'finished');
  assert.equal((await h.balance(seller.accountId)).posted, 600n);
  const late = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'E-2', amount: 600 });
  assert.equal(late.body.status, 'success');
  assert.equal((await h.balance(seller.accountId)).posted, 0n);
  assert.equal((await h.balance(buyer.accountId)).posted, 1_000n);
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'closed');
});

test('a release waits for a refund in flight: a declined refund leaves its money for the release, never stranded in escrow', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  const card = await h.card(buyer.id);
  const created = await h.trade({ type: 'escrow', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  await h.api('POST', `/v1/trades/${created.id}/pay`, { methods: [{ tool: 'card', card_id: card }] });
  await eventually(async () => (await h.api('GET', `/v1/trades/${created.id}`)).body.status === 'success', 'card payment into escrow');
  const escrow = await h.platform.runtime.trade.payment.accounts.escrow('CNY');
  const escrowBefore = (await h.balance(escrow)).posted;
  h.channel.mode = 'manual';
  try {
    const refund = await h.api('POST', `/v1/trades/${created.id}/refunds`, { out_refund_no: 'E-inflight', amount: 300 });
    assert.equal(refund.status, 201, JSON.stringify(refund.body));
    assert.equal(refund.body.status, 'processing');
    // The buyer confirms receipt while the bank has not answered the refund: not yet.
    const early = await h.api('POST', `/v1/trades/${created.id}/confirm`);
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.deepEqual([early.body.error.code, early.body.error.details.reason], ['TRADE_NOT_CONFIRMABLE', 'refund_in_flight']);
    // The bank declines the refund: its 300 is the trade's again, still in escrow.
    const [bankRefund] = h.channel.byService('refund').filter((o) => o.status === 'processing');
    h.channel.settle(bankRefund!.id, 'failed');
    await eventually(async () => (await h.api('GET', `/v1/refunds/${refund.body.id}`)).body.status === 'failed', 'refund failed');
  } finally {
    h.channel.mode = 'success';
  }
  const confirmed = await h.api('POST', `/v1/trades/${created.id}/confirm`);
  assert.equal(confirmed.body.status, 'finished', JSON.stringify(confirmed.body));
  assert.equal((await h.balance(seller.accountId)).posted, 1_000n, 'the seller gets everything, the declined refund included');
  assert.equal((await h.balance(escrow)).posted, escrowBefore - 1_000n, 'nothing of this trade is left in escrow');
});
