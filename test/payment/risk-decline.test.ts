/**
 * The daily card limit counts card payments in flight and paid, not declined ones: over the real
 * channel gateway and the simulated banks, a card ending 0002 (declined) gives its share back,
 * a card ending 0119 (never answers) holds its share while in flight, a card ending 0000 pays.
 * Recharges by card follow the same rule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dayOf } from '../../src/risk/index.js';
import { startHarness, type Harness } from '../channel/channel-harness.js';
import { assertLedgerCheck, eventually } from '../trade/trade-support.js';
import { apiClient, bindCardOverHttp } from './http-client.js';

let h: Harness;
let key: string;
let clientId: string;

before(async () => {
  h = await startHarness('riskdecl');
  const client = await h.platform.newClient('shop');
  key = client.apiKey;
  clientId = client.id;
  // A small daily limit for this client, so a few payments reach it.
  for (const tool of ['card', 'recharge'] as const) await h.platform.runtime.risk.setClientLimits(clientId, tool, { singleLimit: null, dailyLimit: 1_000n, passwordThreshold: null });
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

const api = apiClient(() => h.platform, () => key);
const bindCard = (memberId: string, cardNo: string): Promise<string> => bindCardOverHttp(api, memberId, cardNo);

let members = 0;
async function member(): Promise<string> {
  members += 1;
  const created = await api('POST', '/v1/members', { type: 'personal', name: `m-${members}` });
  assert.ok(created.status === 201 || created.status === 200, JSON.stringify(created.body));
  return created.body.id;
}

let trades = 0;
async function payByCard(buyer: string, seller: string, card: string, amount: number) {
  trades += 1;
  const trade = await api('POST', '/v1/trades', { type: 'instant', out_trade_no: `RISK-${trades}`, buyer_id: buyer, seller_id: seller, amount, subject: 'book' });
  assert.equal(trade.status, 201, JSON.stringify(trade.body));
  return { id: trade.body.id as string, reply: await api('POST', `/v1/trades/${trade.body.id}/pay`, { methods: [{ tool: 'card', card_id: card }] }) };
}

const used = (memberId: string, tool: 'card' | 'recharge') => h.platform.runtime.risk.usedOn(memberId, tool, dayOf(new Date()));

test('a declined card payment gives back its share of the daily limit; in flight and paid ones count', async () => {
  const buyer = await member();
  const seller = await member();
  const declined = await bindCard(buyer, '6222020000000002');
  const good = await bindCard(buyer, '6222020000000000');
  const silent = await bindCard(buyer, '6222020000000119');

  const first = await payByCard(buyer, seller, declined, 800);
  assert.ok(first.reply.status === 200 || first.reply.body.error?.code === 'PAYMENT_FAILED', JSON.stringify(first.reply.body));
  await eventually(async () => (await api('GET', `/v1/trades/${first.id}`)).body.status === 'wait_pay' && (await used(buyer, 'card')) === 0n, 'declined, usage given back', 15_000);

  // Had the declined 800 counted, 800 more would be above the 1,000 limit.
  const paid = await payByCard(buyer, seller, good, 800);
  assert.equal(paid.reply.status, 200, JSON.stringify(paid.reply.body));
  await eventually(async () => (await api('GET', `/v1/trades/${paid.id}`)).body.status === 'success', 'card payment success', 15_000);
  assert.equal(await used(buyer, 'card'), 800n);

  // A payment the bank never answers counts while in flight.
  const pending = await payByCard(buyer, seller, silent, 150);
  assert.equal(pending.reply.status, 200, JSON.stringify(pending.reply.body));
  assert.equal(pending.reply.body.status, 'paying');
  assert.equal(await used(buyer, 'card'), 950n);
  const over = await payByCard(buyer, seller, good, 100);
  assert.equal(over.reply.status, 422);
  assert.equal(over.reply.body.error.code, 'LIMIT_EXCEEDED');
  const fits = await payByCard(buyer, seller, good, 50);
  assert.equal(fits.reply.status, 200, JSON.stringify(fits.reply.body));
  await eventually(async () => (await api('GET', `/v1/trades/${fits.id}`)).body.status === 'success', 'the last 50', 15_000);
  assert.equal(await used(buyer, 'card'), 1_000n);
});

test('a declined card recharge gives back its share too', async () => {
  const m = await member();
  const declined = await bindCard(m, '6217020000000002');
  const good = await bindCard(m, '6217020000000000');
  const first = await api('POST', '/v1/recharges', { out_biz_no: 'RISK-RC-1', member_id: m, card_id: declined, amount: 900 });
  assert.ok(first.status === 201 || first.body.error?.code === 'PAYMENT_FAILED', JSON.stringify(first.body));
  if (first.status === 201) await eventually(async () => (await api('GET', `/v1/recharges/${first.body.id}`)).body.status === 'failed', 'recharge declined', 15_000);
  await eventually(async () => (await used(m, 'recharge')) === 0n, 'recharge usage given back', 15_000);
  const second = await api('POST', '/v1/recharges', { out_biz_no: 'RISK-RC-2', member_id: m, card_id: good, amount: 900 });
  assert.equal(second.status, 201, JSON.stringify(second.body));
  await eventually(async () => (await api('GET', `/v1/recharges/${second.body.id}`)).body.status === 'success', 'recharge', 15_000);
  assert.equal(await used(m, 'recharge'), 900n);
  const over = await api('POST', '/v1/recharges', { out_biz_no: 'RISK-RC-3', member_id: m, card_id: good, amount: 101 });
  assert.equal(over.body.error?.code, 'LIMIT_EXCEEDED');
});
