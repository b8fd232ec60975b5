/**
 * The cash-on-delivery flow of SYSTEM.md §3 as one scenario, under full TCC (ledger and marketing
 * in databases of their own): the courier collects cash and recharges a transit account, which
 * transfers to the buyer, who pays the seller; the platform's, the logistics company's and the
 * channel's income are split off through an intermediate profit-sharing account.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertLedgerCheck, eventually, startTradeHarness, type TradeHarness } from './trade-support.js';

let h: TradeHarness;

before(async () => {
  h = await startTradeHarness('cod', { separate: ['ledger', 'marketing'] });
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

test('COD: courier → transit account → buyer → seller, income split through the profit-sharing account', async () => {
  h.channel.mode = 'success';
  const transit = await h.member('transit', 'merchant');
  const buyer = await h.member('buyer');
  const seller = await h.member('seller', 'merchant');
  const sharing = await h.member('profit-sharing', 'merchant');
  const platformIncome = await h.member('platform', 'merchant');
  const logistics = await h.member('logistics', 'merchant');
  const channelIncome = await h.member('channel', 'merchant');
  const courierCard = await h.card(transit.id);
  const bank = await h.platform.runtime.trade.payment.accounts.channel('alpha');
  const bankBefore = (await h.balance(bank)).posted;

  // 1. The courier collected 100.00 in cash and pays it into the transit account with the company card.
  const recharge = await h.api('POST', '/v1/recharges', { out_biz_no: 'COD-1-recharge', member_id: transit.id, card_id: courierCard, amount: 10_000 });
  assert.equal(recharge.status, 201, JSON.stringify(recharge.body));
  await eventually(async () => (await h.api('GET', `/v1/recharges/${recharge.body.id}`)).body.status === 'success', 'recharge');

  // 2. The transit account passes the cash to the buyer's balance.
  const toBuyer = await h.api('POST', '/v1/transfers', { out_biz_no: 'COD-1-transit', from_member_id: transit.id, to_member_id: buyer.id, amount: 10_000, memo: 'cash collected on delivery' });
  assert.equal(toBuyer.body.status, 'success', JSON.stringify(toBuyer.body));

  // 3. The buyer pays the seller; 8.00 of it goes to the intermediate profit-sharing account.
  const trade = await h.trade({ type: 'instant', out_trade_no: 'COD-1', buyer_id: buyer.id, seller_id: seller.id, amount: 10_000, splits: [{ member_id: sharing.id, amount: 800, memo: 'income to share' }] });
  const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(paid.body.status, 'success', JSON.stringify(paid.body));

  // 4. The profit-sharing account pays out each party's income.
  for (const [to, amount, no] of [
    [platformIncome, 500, 'platform'],
    [logistics, 250, 'logistics'],
    [channelIncome, 50, 'channel'],
  ] as const) {
    const share = await h.api('POST', '/v1/transfers', { out_biz_no: `COD-1-share-${no}`, from_member_id: sharing.id, to_member_id: to.id, amount });
    assert.equal(share.body.status, 'success', JSON.stringify(share.body));
  }

  const posted = async (accountId: string) => (await h.balance(accountId)).posted;
  assert.equal(await posted(seller.accountId), 9_200n);
  assert.equal(await posted(platformIncome.accountId), 500n);
  assert.equal(await posted(logistics.accountId), 250n);
  assert.equal(await posted(channelIncome.accountId), 50n);
  for (const member of [transit, buyer, sharing]) assert.equal(await posted(member.accountId), 0n, 'pass-through accounts end empty');
  assert.equal((await posted(bank)) - bankBefore, -10_000n, 'the bank owes us the cash the courier paid in');
  for (const member of [transit, buyer, seller, sharing]) assert.equal((await h.balance(member.accountId)).frozen, 0n);

  // Every step ran as full TCC (the ledger lives in a database of its own) and is recorded.
  const orders = await h.platform.runtime.trade.payment.ordersOfTrade(trade.id);
  assert.deepEqual(
    orders.map((o) => [o.kind, o.status, o.tcc]),
    [['transfer', 'success', 'two_phase']],
  );
});
