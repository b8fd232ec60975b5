/**
 * Internal reconciliation from the event stream, on the real trade and payment cores (the bank is
 * the trade tests' FakeChannel, which records no channel orders): a paid trade with its payment
 * and balanced vouchers checks out; one whose voucher was removed from the ledger database, and
 * one whose card part has no channel order, are flagged within the configured window.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { loadConfig } from '../../src/platform/index.js';
import { eventually, startTradeHarness, type TradeHarness } from '../trade/trade-support.js';

let h: TradeHarness;
const windowMs = 1_500;

before(async () => {
  const defaults = loadConfig({});
  h = await startTradeHarness('fundsinternal', {
    config: {
      eventsConsumerIntervalMs: 50,
      eventsRelayIntervalMs: 50,
      // The GL feed is driven by the test (so the voucher can be removed before it is copied).
      funds: { ...defaults.funds, glIntervalMs: 60_000, glGapWaitMs: 0, internalReconWindowMs: windowMs, internalReconIntervalMs: 100 },
    },
  });
  h.platform.runtime.startWorkers();
});

after(async () => {
  await h?.close();
});

test('a paid trade checks out; a removed voucher and a missing channel order are flagged within the window', async () => {
  const { funds } = h.platform.runtime;
  const buyer = await h.member('buyer');
  const seller = await h.member('seller', 'merchant');
  await h.fund(buyer.accountId, 10_000n);
  const pay = async (amount: number, methods: unknown[]) => {
    const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount });
    const reply = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return trade.id as string;
  };
  const good = await pay(2_500, [{ tool: 'balance' }]);
  const broken = await pay(1_000, [{ tool: 'balance' }]);
  const card = await h.card(buyer.id);
  const byCard = await pay(700, [{ tool: 'card', card_id: card }]);
  await eventually(async () => (await h.api('GET', `/v1/trades/${byCard}`)).body.status === 'success', 'card trade paid');

  // The broken trade's voucher disappears from the ledger database before accounting copies it.
  const reported = await eventually(async () => (await funds.internal.get(broken))?.payment_id, 'payment.reported of the broken trade');
  const ledgerDb = h.platform.databases.get('ledger');
  const removed = await sql<{ id: string }>`select id from ledger.voucher where source = 'payment' and (reference = ${reported} or reference like ${reported + ':%'})`.execute(ledgerDb);
  assert.ok(removed.rows.length > 0);
  for (const { id } of removed.rows) {
    await sql`delete from ledger.entry where voucher_id = ${id}::uuid`.execute(ledgerDb);
    await sql`delete from ledger.pending_entry where voucher_id = ${id}::uuid`.execute(ledgerDb);
    await sql`delete from ledger.voucher where id = ${id}::uuid`.execute(ledgerDb);
  }
  await funds.feed.catchUp();

  const ok = await eventually(async () => ((await funds.internal.get(good))?.status === 'ok' ? funds.internal.get(good) : undefined), 'the good trade checks out');
  assert.deepEqual(ok!.missing, []);
  const gap = await eventually(async () => ((await funds.internal.get(broken))?.status === 'gap' ? funds.internal.get(broken) : undefined), 'the broken trade flagged', 10_000);
  assert.deepEqual(gap!.missing, ['vouchers']);
  const latency = gap!.flagged_at!.getTime() - gap!.paid_at.getTime();
  assert.ok(latency >= windowMs && latency < windowMs + 5_000, `flagged ${latency} ms after payment (window ${windowMs} ms)`);
  const cardGap = await eventually(async () => ((await funds.internal.get(byCard))?.status === 'gap' ? funds.internal.get(byCard) : undefined), 'the card trade flagged', 10_000);
  assert.deepEqual(cardGap!.missing, ['channel_order']);
  assert.equal(cardGap!.card_amount, 700n);

  const viewer = await h.platform.newOperator('viewer');
  const listed = await h.platform.runtime.http.inject({ method: 'GET', url: '/admin/funds/internal-gaps', headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(listed.statusCode, 200);
  assert.deepEqual(JSON.parse(listed.body).data.map((r: { trade_id: string }) => r.trade_id).sort(), [broken, byCard].sort());

  // The compliance export of the day: the merchant's three trades and the fund flows the GL saw.
  const csv = await funds.complianceCsv(new Date().toISOString().slice(0, 10), seller.id);
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], 'merchant_id,record,time,reference,counterparty,amount,currency,detail');
  const trades = lines.filter((l) => l.includes(',trade,'));
  assert.deepEqual(trades.map((l) => l.split(',')[3]).sort(), [good, broken, byCard].sort());
  assert.ok(trades.every((l) => l.startsWith(`${seller.id},`)));
  const flows = lines.filter((l) => l.includes(',fund_flow,'));
  assert.deepEqual(flows.map((l) => l.split(',')[5]).sort(), ['25.00', '7.00'], 'the removed voucher has no fund flow');
});
