/**
 * Funds in and out over HTTP: recharge (card → bank → balance) and its refund to the card,
 * withdrawal (frozen at once, paid out, then debited; T+1 waits for the settlement time; a bounce
 * returns the money), transfer (password above the threshold); replay and conflict by out_biz_no.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nextSettlement } from '../../src/trade/index.js';
import { assertLedgerCheck, eventually, startTradeHarness, type TradeHarness } from './trade-support.js';

let h: TradeHarness;

before(async () => {
  h = await startTradeHarness('funds');
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

async function until(url: string, status: string): Promise<Record<string, any>> {
  return eventually(async () => {
    const reply = await h.api('GET', url);
    return reply.body.status === status ? reply.body : undefined;
  }, `${url} ${status}`);
}

test('recharge: card → bank → the member is credited; replay, conflict; a refund back to the card', async () => {
  h.channel.mode = 'success';
  const member = await h.member('payer');
  const card = await h.card(member.id);
  const body = { out_biz_no: 'RC-1', member_id: member.id, card_id: card, amount: 5_000 };
  const created = await h.api('POST', '/v1/recharges', body);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.ok(['processing', 'success'].includes(created.body.status));
  await until(`/v1/recharges/${created.body.id}`, 'success');
  assert.equal((await h.balance(member.accountId)).posted, 5_000n);
  const replay = await h.api('POST', '/v1/recharges', body);
  assert.equal(replay.status, 200);
  assert.equal(replay.body.id, created.body.id);
  const conflict = await h.api('POST', '/v1/recharges', { ...body, amount: 5_001 });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, 'OUT_BIZ_NO_CONFLICT');
  assert.equal(h.channel.byService('pay').filter((o) => o.amount === 5_000n).length, 1, 'one card debit');
  const refund = await h.api('POST', `/v1/recharges/${created.body.id}/refunds`, { out_refund_no: 'RCR-1', amount: 2_000 });
  assert.equal(refund.status, 201, JSON.stringify(refund.body));
  assert.equal(refund.body.type, 'recharge_refund');
  await until(`/v1/refunds/${refund.body.id}`, 'success');
  assert.equal((await h.balance(member.accountId)).posted, 3_000n);
  const over = await h.api('POST', `/v1/recharges/${created.body.id}/refunds`, { out_refund_no: 'RCR-2', amount: 3_001 });
  assert.equal(over.body.error.code, 'REFUND_EXCEEDS_PAID');
});

test('recharge refusals: a card not bound, the card limit, a declined card ends failed', async () => {
  const member = await h.member('payer');
  const card = await h.card(member.id);
  const notBound = await h.api('POST', '/v1/recharges', { out_biz_no: 'RC-nb', member_id: member.id, card_id: '0190b6a4-0000-7000-8000-000000000000', amount: 100 });
  assert.equal(notBound.body.error.code, 'CARD_NOT_ACTIVE');
  const limited = await h.api('POST', '/v1/recharges', { out_biz_no: 'RC-big', member_id: member.id, card_id: card, amount: 5_000_001 });
  assert.equal(limited.status, 422);
  assert.equal(limited.body.error.code, 'LIMIT_EXCEEDED');
  h.channel.mode = 'failed';
  try {
    const body = { out_biz_no: 'RC-declined', member_id: member.id, card_id: card, amount: 100 };
    const declined = await h.api('POST', '/v1/recharges', body);
    // Declined within the request (422) or after it (processing, then failed); either way it ends failed.
    assert.ok(declined.status === 201 || declined.body.error?.code === 'PAYMENT_FAILED', JSON.stringify(declined.body));
    const id = declined.status === 201 ? (declined.body.id as string) : ((await h.api('POST', '/v1/recharges', body)).body.id as string);
    await until(`/v1/recharges/${id}`, 'failed');
    assert.equal((await h.balance(member.accountId)).posted, 0n);
    const other = await h.platform.newClient('other');
    assert.equal((await h.api('GET', `/v1/recharges/${id}`, undefined, other.apiKey)).status, 404);
  } finally {
    h.channel.mode = 'success';
  }
});

test('withdrawal t0: frozen at once, paid out, then debited; a bounce returns the money', async () => {
  h.channel.mode = 'manual';
  const member = await h.member('payee');
  const card = await h.card(member.id);
  await h.fund(member.accountId, 10_000n);
  const created = await h.api('POST', '/v1/withdrawals', { out_biz_no: 'W-1', member_id: member.id, card_id: card, amount: 4_000, speed: 't0' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.status, 'processing');
  assert.deepEqual(await h.balance(member.accountId), { ...(await h.balance(member.accountId)), posted: 10_000n, frozen: 4_000n, available: 6_000n });
  const payout = h.channel.byService('payout').find((o) => o.amount === 4_000n);
  assert.ok(payout);
  h.channel.settle(payout.id, 'success');
  await until(`/v1/withdrawals/${created.body.id}`, 'success');
  assert.deepEqual(await h.balance(member.accountId), { ...(await h.balance(member.accountId)), posted: 6_000n, frozen: 0n });
  const operator = await h.platform.newOperator('operator');
  const bounce = await h.platform.runtime.http.inject({ method: 'POST', url: `/admin/withdrawals/${created.body.id}/bounce`, headers: { authorization: `Bearer ${operator.token}` } });
  assert.equal(bounce.statusCode, 200, bounce.body);
  assert.equal(bounce.json().status, 'bounced');
  assert.equal((await h.balance(member.accountId)).posted, 10_000n);
  const twice = await h.platform.runtime.http.inject({ method: 'POST', url: `/admin/withdrawals/${created.body.id}/bounce`, headers: { authorization: `Bearer ${operator.token}` } });
  assert.equal(twice.statusCode, 409);
  assert.equal(twice.json().error.code, 'WITHDRAWAL_NOT_BOUNCEABLE');
  assert.equal((await h.balance(member.accountId)).posted, 10_000n);
  h.channel.mode = 'success';
});

test('withdrawal: more than the balance is 422; a failed payout unfreezes', async () => {
  h.channel.mode = 'manual';
  const member = await h.member('payee');
  const card = await h.card(member.id);
  await h.fund(member.accountId, 1_000n);
  const poor = await h.api('POST', '/v1/withdrawals', { out_biz_no: 'W-poor', member_id: member.id, card_id: card, amount: 1_001, speed: 't0' });
  assert.equal(poor.status, 422);
  assert.equal(poor.body.error.code, 'INSUFFICIENT_FUNDS');
  assert.equal((await h.balance(member.accountId)).frozen, 0n);
  const created = await h.api('POST', '/v1/withdrawals', { out_biz_no: 'W-fail', member_id: member.id, card_id: card, amount: 1_000, speed: 't0' });
  const payout = h.channel.byService('payout').find((o) => o.instructionId && o.amount === 1_000n && o.status === 'processing');
  assert.ok(payout);
  h.channel.settle(payout.id, 'failed');
  await until(`/v1/withdrawals/${created.body.id}`, 'failed');
  assert.deepEqual(await h.balance(member.accountId), { ...(await h.balance(member.accountId)), posted: 1_000n, frozen: 0n });
  h.channel.mode = 'success';
});

test('withdrawal t1: frozen now, paid out only at the next settlement time', async () => {
  h.channel.mode = 'success';
  const member = await h.member('payee');
  const card = await h.card(member.id);
  await h.fund(member.accountId, 2_000n);
  const payoutsBefore = h.channel.byService('payout').length;
  const created = await h.api('POST', '/v1/withdrawals', { out_biz_no: 'W-t1', member_id: member.id, card_id: card, amount: 2_000, speed: 't1' });
  assert.equal(created.body.status, 'processing');
  const settleAt = new Date(created.body.settle_at as string);
  assert.equal(settleAt.getTime(), nextSettlement(new Date(created.body.created_at as string), h.platform.config.trade.settlementTimeUtc).getTime());
  assert.ok(settleAt.getTime() > Date.now());
  assert.equal((await h.balance(member.accountId)).frozen, 2_000n);
  await h.platform.runtime.trade.payment.recover(new Date(settleAt.getTime() - 60_000));
  assert.equal(h.channel.byService('payout').length, payoutsBefore, 'not before the settlement time');
  await h.platform.runtime.trade.payment.recover(new Date(settleAt.getTime() + 1_000));
  await until(`/v1/withdrawals/${created.body.id}`, 'success');
  assert.deepEqual(await h.balance(member.accountId), { ...(await h.balance(member.accountId)), posted: 0n, frozen: 0n });
});

test('transfer: member → member; password above 2,000.00; insufficient funds; replay and conflict', async () => {
  const from = await h.member('from');
  const to = await h.member('to');
  await h.fund(from.accountId, 500_000n);
  const body = { out_biz_no: 'TR-1', from_member_id: from.id, to_member_id: to.id, amount: 1_500, memo: 'rent' };
  const done = await h.api('POST', '/v1/transfers', body);
  assert.equal(done.status, 201, JSON.stringify(done.body));
  assert.equal(done.body.status, 'success');
  assert.equal((await h.balance(to.accountId)).posted, 1_500n);
  assert.equal((await h.api('POST', '/v1/transfers', body)).body.id, done.body.id);
  assert.equal((await h.api('POST', '/v1/transfers', { ...body, memo: 'other' })).body.error.code, 'OUT_BIZ_NO_CONFLICT');
  assert.equal((await h.api('GET', `/v1/transfers/${done.body.id}`)).body.amount, 1_500);
  const big = await h.api('POST', '/v1/transfers', { out_biz_no: 'TR-big', from_member_id: from.id, to_member_id: to.id, amount: 200_001 });
  assert.equal(big.body.error.code, 'PAYMENT_PASSWORD_REQUIRED');
  const poor = await h.api('POST', '/v1/transfers', { out_biz_no: 'TR-poor', from_member_id: to.id, to_member_id: from.id, amount: 1_501 });
  assert.equal(poor.status, 422);
  assert.equal(poor.body.error.code, 'INSUFFICIENT_FUNDS');
  const self = await h.api('POST', '/v1/transfers', { out_biz_no: 'TR-self', from_member_id: to.id, to_member_id: to.id, amount: 1 });
  assert.equal(self.status, 400);
  assert.equal((await h.balance(to.accountId)).posted, 1_500n);
});
