/**
 * The refund window of instant trades (API.md: `finished` = "no longer refundable"): the trade
 * jobs move a paid instant trade past PAYCORE_INSTANT_REFUND_WINDOW_MS to finished (once, with
 * its event), and a refund after the window is refused with TRADE_NOT_REFUNDABLE — whether or
 * not the job has run yet. Escrow trades finish on confirm and stay refundable from the seller.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { loadConfig } from '../../src/platform/index.js';
import { assertLedgerCheck, startTradeHarness, type TradeHarness } from './trade-support.js';

const dayMs = 86_400_000;
let h: TradeHarness;
let short: TradeHarness;

before(async () => {
  h = await startTradeHarness('rwindow');
  // A window of one second, to see the refusal before the job ran (the service reads the real clock).
  short = await startTradeHarness('rwshort', { config: { trade: { ...loadConfig({}).trade, instantRefundWindowMs: 1_000 } } });
});
after(async () => {
  for (const harness of [h, short]) {
    if (harness) await assertLedgerCheck(harness.platform);
    await harness?.close();
  }
});

async function paidTrade(harness: TradeHarness, type: 'instant' | 'escrow', amount: number) {
  const buyer = await harness.member('buyer');
  const seller = await harness.member('seller');
  await harness.fund(buyer.accountId, BigInt(amount));
  const trade = await harness.trade({ type, buyer_id: buyer.id, seller_id: seller.id, amount });
  const paid = await harness.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(paid.body.status, 'success', JSON.stringify(paid.body));
  return { buyer, seller, trade: paid.body };
}

async function events(harness: TradeHarness, tradeId: string): Promise<string[]> {
  const rows = await sql<{ type: string }>`select type from trade.outbox where key = ${tradeId} order by seq`.execute(harness.platform.databases.get('trade'));
  return rows.rows.map((r) => r.type);
}

test('the default window is 90 days', () => {
  assert.equal(loadConfig({}).trade.instantRefundWindowMs, 90 * dayMs);
  assert.equal(loadConfig({ PAYCORE_INSTANT_REFUND_WINDOW_MS: '5000' }).trade.instantRefundWindowMs, 5_000);
  assert.throws(() => loadConfig({ PAYCORE_INSTANT_REFUND_WINDOW_MS: '10' }));
});

test('an instant trade stays refundable within the window, then the job finishes it once and refunds are refused', async () => {
  const { buyer, seller, trade } = await paidTrade(h, 'instant', 1_000);
  const paidAt = Date.parse(trade.paid_at);
  await h.platform.runtime.trade.runJobs(new Date(paidAt + 89 * dayMs));
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'success');
  const within = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'W-1', amount: 100 });
  assert.equal(within.status, 201, JSON.stringify(within.body));
  assert.equal(within.body.status, 'success');

  const end = new Date(paidAt + 90 * dayMs + 1_000);
  await h.platform.runtime.trade.runJobs(end);
  const finished = await h.api('GET', `/v1/trades/${trade.id}`);
  assert.equal(finished.body.status, 'finished');
  assert.equal(finished.body.finished_at, end.toISOString());
  assert.equal(finished.body.refunded_amount, 100);
  await h.platform.runtime.trade.runJobs(new Date(end.getTime() + dayMs));
  assert.equal((await events(h, trade.id)).filter((t) => t === 'trade.finished').length, 1);

  const refused = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'W-2', amount: 100 });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'TRADE_NOT_REFUNDABLE');
  assert.deepEqual(refused.body.error.details, { status: 'finished', reason: 'refund_window_ended' });
  const still = await h.api('GET', `/v1/trades/${trade.id}`);
  assert.equal(still.body.refunded_amount, 100);
  assert.equal((await h.balance(buyer.accountId)).posted, 100n);
  assert.equal((await h.balance(seller.accountId)).posted, 900n);
});

test('the job leaves unpaid, fully refunded and escrow trades alone; a finished escrow trade stays refundable', async () => {
  const later = new Date(Date.now() + 365 * dayMs);
  const unpaidBuyer = await h.member('buyer');
  const unpaidSeller = await h.member('seller');
  const unpaid = await h.trade({ type: 'instant', buyer_id: unpaidBuyer.id, seller_id: unpaidSeller.id, amount: 100, timeout_seconds: 86_400 * 15 });
  const refunded = await paidTrade(h, 'instant', 300);
  assert.equal((await h.api('POST', `/v1/trades/${refunded.trade.id}/refunds`, { out_refund_no: 'W-all', amount: 300 })).body.status, 'success');
  const escrow = await paidTrade(h, 'escrow', 500);
  const confirmed = await h.api('POST', `/v1/trades/${escrow.trade.id}/confirm`);
  assert.equal(confirmed.body.status, 'finished');

  await h.platform.runtime.trade.runJobs(later);
  assert.equal((await h.api('GET', `/v1/trades/${refunded.trade.id}`)).body.status, 'closed');
  assert.equal((await h.api('GET', `/v1/trades/${unpaid.id}`)).body.status, 'closed'); // its own timeout, not the window
  assert.ok(!(await events(h, unpaid.id)).includes('trade.finished'));
  assert.equal((await events(h, escrow.trade.id)).filter((t) => t === 'trade.finished').length, 1);
  // Escrow after confirm: released to the seller, refundable from the seller (as the code always did).
  const refund = await h.api('POST', `/v1/trades/${escrow.trade.id}/refunds`, { out_refund_no: 'W-escrow', amount: 200 });
  assert.equal(refund.status, 201, JSON.stringify(refund.body));
  assert.equal(refund.body.status, 'success');
  assert.equal((await h.balance(escrow.seller.accountId)).posted, 300n);
});

test('past the window a refund is refused before the job ran; the job then finishes the trade', async () => {
  const { trade } = await paidTrade(short, 'instant', 400);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const refused = await short.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'S-1', amount: 100 });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'TRADE_NOT_REFUNDABLE');
  assert.deepEqual(refused.body.error.details, { status: 'success', reason: 'refund_window_ended' });
  assert.equal((await short.api('GET', `/v1/trades/${trade.id}`)).body.refunded_amount, 0);
  assert.ok((await short.platform.runtime.trade.runJobs()) >= 1);
  assert.equal((await short.api('GET', `/v1/trades/${trade.id}`)).body.status, 'finished');
});
