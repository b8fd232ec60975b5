/**
 * The payment core over the real channel gateway and two simulated bank processes: a card bound
 * over HTTP (SMS code from the sandbox), a trade paid by card (paying → success by the bank's
 * callback), a declined card (back to wait_pay), a recharge and a T+0 withdrawal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../channel/channel-harness.js';
import { assertLedgerCheck, eventually } from '../trade/trade-support.js';
import { apiClient, bindCardOverHttp } from './http-client.js';

let h: Harness;
let key: string;

before(async () => {
  h = await startHarness('payreal');
  key = (await h.platform.newClient('shop')).apiKey;
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

const api = apiClient(() => h.platform, () => key);

let members = 0;
async function member(cardNo?: string): Promise<{ id: string; accountId: string; card?: string }> {
  members += 1;
  const created = await api('POST', '/v1/members', { type: 'personal', name: `m-${members}` });
  assert.ok(created.status === 201 || created.status === 200, JSON.stringify(created.body));
  if (!cardNo) return { id: created.body.id, accountId: created.body.account_id };
  return { id: created.body.id, accountId: created.body.account_id, card: await bindCardOverHttp(api, created.body.id, cardNo, 'Li Lei') };
}

test('a card payment through a simulated bank: paying, then success by callback', async () => {
  const buyer = await member('6222020000000000');
  const seller = await member();
  const trade = await api('POST', '/v1/trades', { type: 'instant', out_trade_no: 'REAL-1', buyer_id: buyer.id, seller_id: seller.id, amount: 12_300, subject: 'book' });
  const reply = await api('POST', `/v1/trades/${trade.body.id}/pay`, { methods: [{ tool: 'card', card_id: buyer.card }] });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const done = await eventually(async () => {
    const t = await api('GET', `/v1/trades/${trade.body.id}`);
    return t.body.status === 'success' ? t.body : undefined;
  }, 'card payment success', 15_000);
  assert.equal(done.paid_amount, 12_300);
  assert.equal((await h.platform.runtime.ledger.balance(seller.accountId))?.posted, 12_300n);
});

test('a declined card: the trade goes back to wait_pay', async () => {
  const buyer = await member('6222020000000002');
  const seller = await member();
  const trade = await api('POST', '/v1/trades', { type: 'instant', out_trade_no: 'REAL-2', buyer_id: buyer.id, seller_id: seller.id, amount: 500, subject: 'book' });
  const reply = await api('POST', `/v1/trades/${trade.body.id}/pay`, { methods: [{ tool: 'card', card_id: buyer.card }] });
  assert.ok(reply.status === 200 || reply.body.error?.code === 'PAYMENT_FAILED', JSON.stringify(reply.body));
  await eventually(async () => (await api('GET', `/v1/trades/${trade.body.id}`)).body.status === 'wait_pay' && (await h.platform.runtime.trade.payment.ordersOfTrade(trade.body.id)).some((o) => o.status === 'failed'), 'declined', 15_000);
});

test('recharge by card, then a T+0 withdrawal to it', async () => {
  const m = await member('6217020000000000');
  const recharge = await api('POST', '/v1/recharges', { out_biz_no: 'REAL-RC', member_id: m.id, card_id: m.card, amount: 8_000 });
  assert.equal(recharge.status, 201, JSON.stringify(recharge.body));
  await eventually(async () => (await api('GET', `/v1/recharges/${recharge.body.id}`)).body.status === 'success', 'recharge', 15_000);
  const withdrawal = await api('POST', '/v1/withdrawals', { out_biz_no: 'REAL-W', member_id: m.id, card_id: m.card, amount: 3_000, speed: 't0' });
  assert.equal(withdrawal.status, 201, JSON.stringify(withdrawal.body));
  await eventually(async () => (await api('GET', `/v1/withdrawals/${withdrawal.body.id}`)).body.status === 'success', 'withdrawal', 15_000);
  const balance = await h.platform.runtime.ledger.balance(m.accountId);
  assert.deepEqual([balance?.posted, balance?.frozen], [5_000n, 0n]);
});
