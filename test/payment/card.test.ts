/**
 * Card payments and the payment core's exceptions, with a bank channel whose answers the test
 * decides: a card paid asynchronously (paying → success), a card that fails after a coupon was
 * reserved (the partial payment reversed), a bank success after the attempt was given up (the
 * duplicate payment refunded, a payment after close refunded), a channel refusal, a refund back
 * to the card, and risk before try: limits and the payment password.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertLedgerCheck, eventually, startTradeHarness, type TradeHarness } from '../trade/trade-support.js';

let h: TradeHarness;
const cardWaitMs = 600_000;

before(async () => {
  h = await startTradeHarness('card');
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

async function coupon(memberId: string, amount: number): Promise<string> {
  const reply = await h.api('POST', '/v1/coupons', { member_id: memberId, amount, expires_at: new Date(Date.now() + 86_400_000).toISOString() });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body.id as string;
}

async function parties(funds = 0n) {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  if (funds > 0n) await h.fund(buyer.accountId, funds);
  const card = await h.card(buyer.id);
  return { buyer, seller, card };
}

const status = async (id: string) => (await h.api('GET', `/v1/trades/${id}`)).body;

test('coupon + balance + card: paying until the bank answers, then success; the bank owes us the card part', async () => {
  h.channel.mode = 'success';
  const { buyer, seller, card } = await parties(300n);
  const couponId = await coupon(buyer.id, 200);
  const bank = await h.platform.runtime.trade.payment.accounts.channel('alpha');
  const bankBefore = (await h.balance(bank)).posted;
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  const reply = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'card', card_id: card }, { tool: 'coupon', coupon_id: couponId }, { tool: 'balance' }] });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.ok(['paying', 'success'].includes(reply.body.status));
  const done = await eventually(async () => ((await status(trade.id)).status === 'success' ? status(trade.id) : undefined), 'card payment success');
  assert.equal(done.paid_amount, 1_000);
  assert.equal((await h.balance(seller.accountId)).posted, 1_000n);
  assert.deepEqual(await h.balance(buyer.accountId), { ...(await h.balance(buyer.accountId)), posted: 0n, frozen: 0n });
  assert.equal((await h.balance(bank)).posted - bankBefore, -500n);
  assert.equal((await h.api('GET', `/v1/coupons/${couponId}`)).body.status, 'used');
  const [order] = await h.platform.runtime.trade.payment.ordersOfTrade(trade.id);
  assert.deepEqual(
    (order!.methods as unknown as Array<Record<string, string>>).map((m) => [m.tool, m.amount, m.institution]),
    [
      ['coupon', '200', undefined],
      ['balance', '300', undefined],
      ['card', '500', 'alpha'],
    ],
  );
  // A refund goes back the way the money came: the card first, through the bank.
  const refund = await h.api('POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: `CR-${trade.id}`, amount: 600 });
  assert.equal(refund.status, 201, JSON.stringify(refund.body));
  const refunded = await eventually(async () => {
    const r = await h.api('GET', `/v1/refunds/${refund.body.id}`);
    return r.body.status === 'success' ? r.body : undefined;
  }, 'card refund');
  assert.equal(refunded.amount, 600);
  assert.equal((await h.balance(bank)).posted - bankBefore, 0n, 'the card part went back through the bank');
  assert.equal((await h.balance(buyer.accountId)).posted, 100n, 'and the rest to the balance');
  assert.equal((await h.balance(seller.accountId)).posted, 400n);
});

test('the card fails after the coupon was reserved: the partial payment is reversed and recorded on the trade', async () => {
  h.channel.mode = 'failed';
  const { buyer, seller, card } = await parties(100n);
  const couponId = await coupon(buyer.id, 100);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  const reply = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'coupon', coupon_id: couponId }, { tool: 'balance' }, { tool: 'card', card_id: card }] });
  // The bank may decline within the request (422) or after it (paying, then back to wait_pay).
  assert.ok(reply.status === 200 || (reply.status === 422 && reply.body.error.code === 'PAYMENT_FAILED'), JSON.stringify(reply.body));
  const back = await eventually(async () => ((await status(trade.id)).status === 'wait_pay' ? status(trade.id) : undefined), 'payment failed');
  assert.equal(back.exceptions.length, 1);
  assert.equal(back.exceptions[0].kind, 'partial_payment');
  assert.equal(back.exceptions[0].action, 'reversed');
  assert.equal(back.exceptions[0].amount, 200);
  assert.equal((await h.api('GET', `/v1/coupons/${couponId}`)).body.status, 'available');
  assert.deepEqual(await h.balance(buyer.accountId), { ...(await h.balance(buyer.accountId)), posted: 100n, frozen: 0n });
  h.channel.mode = 'success';
});

async function abandonedCardPayment() {
  h.channel.mode = 'manual';
  const { buyer, seller, card } = await parties(5_000n);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  const reply = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'card', card_id: card }] });
  assert.equal(reply.body.status, 'paying');
  const order = h.channel.byService('pay').find((o) => o.amount === 1_000n && o.status === 'processing');
  assert.ok(order);
  // No answer from the bank within the wait: the attempt is given up, the trade payable again.
  await h.platform.runtime.trade.payment.recover(new Date(Date.now() + cardWaitMs + 60_000));
  assert.equal((await status(trade.id)).status, 'wait_pay');
  return { buyer, seller, trade, order };
}

test('a bank success after the attempt was given up, the trade meanwhile paid: the duplicate payment is refunded', async () => {
  const { trade, order, seller } = await abandonedCardPayment();
  const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(paid.body.status, 'success');
  h.channel.mode = 'success';
  h.channel.settle(order.id, 'success');
  const recorded = await eventually(async () => {
    const t = await status(trade.id);
    return t.exceptions.length > 0 ? t : undefined;
  }, 'exception recorded');
  assert.equal(recorded.exceptions[0].kind, 'duplicate_payment');
  assert.equal(recorded.exceptions[0].action, 'refunded');
  assert.equal(recorded.exceptions[0].amount, 1_000);
  await eventually(async () => h.channel.byService('refund').some((r) => (r as { originalOrderId?: string }).originalOrderId === order.id && r.status === 'success'), 'card refund sent');
  await eventually(async () => {
    const refund = await h.platform.runtime.trade.refunds.get(h.clientId, recorded.exceptions[0].refund_order_id);
    return refund?.status === 'success';
  }, 'exception refund success');
  assert.equal(recorded.status, 'success');
  assert.equal((await h.balance(seller.accountId)).posted, 1_000n, 'the seller was paid once');
});

test('a bank success after the trade closed: refunded, never lost', async () => {
  const { trade, order } = await abandonedCardPayment();
  assert.equal((await h.api('POST', `/v1/trades/${trade.id}/close`)).body.status, 'closed');
  h.channel.mode = 'success';
  h.channel.settle(order.id, 'success');
  const recorded = await eventually(async () => {
    const t = await status(trade.id);
    return t.exceptions.length > 0 ? t : undefined;
  }, 'exception recorded');
  assert.equal(recorded.exceptions[0].kind, 'paid_after_close');
  assert.equal(recorded.status, 'closed');
  await eventually(async () => (await h.platform.runtime.trade.refunds.get(h.clientId, recorded.exceptions[0].refund_order_id))?.status === 'success', 'exception refund success');
});

test('the channel refuses at once: 422, nothing taken, the trade payable', async () => {
  h.channel.mode = 'success';
  h.channel.refuse = 'NO_CHANNEL';
  try {
    const { buyer, seller, card } = await parties(500n);
    const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
    const reply = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }, { tool: 'card', card_id: card }] });
    assert.equal(reply.status, 422);
    assert.equal(reply.body.error.code, 'PAYMENT_CHANNEL_REFUSED');
    assert.equal((await status(trade.id)).status, 'wait_pay');
    assert.equal((await h.balance(buyer.accountId)).frozen, 0n);
  } finally {
    h.channel.refuse = undefined;
  }
});

test('risk before try: the card limit, the payment password above 2,000.00, a card not bound', async () => {
  h.channel.mode = 'success';
  const { buyer, seller, card } = await parties(1_000_000n);
  const big = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 6_000_000 });
  const limited = await h.api('POST', `/v1/trades/${big.id}/pay`, { methods: [{ tool: 'card', card_id: card }], payment_password: '123456' });
  assert.equal(limited.status, 422);
  assert.equal(limited.body.error.code, 'LIMIT_EXCEEDED');
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 300_000 });
  const missing = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(missing.body.error.code, 'PAYMENT_PASSWORD_REQUIRED');
  const notSet = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }], payment_password: '135790' });
  assert.equal(notSet.body.error.code, 'PAYMENT_PASSWORD_NOT_SET');
  assert.ok([200, 201, 204].includes((await h.api('POST', `/v1/members/${buyer.id}/payment-password`, { password: '135790' })).status));
  const wrong = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }], payment_password: '000000' });
  assert.equal(wrong.body.error.code, 'PAYMENT_PASSWORD_WRONG');
  assert.equal((await status(trade.id)).status, 'wait_pay');
  const right = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }], payment_password: '135790' });
  assert.equal(right.body.status, 'success', JSON.stringify(right.body));
  const small = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  const unbound = await h.api('POST', `/v1/trades/${small.id}/pay`, { methods: [{ tool: 'card', card_id: '0190b6a4-0000-7000-8000-000000000000' }] });
  assert.equal(unbound.body.error.code, 'CARD_NOT_ACTIVE');
});

test('the payment rule: 10.00 = red packet 2.00 + coupon 1.00 + card 7.00; a coupon worth more than what is left gives the rest back to the budget', async () => {
  h.channel.mode = 'success';
  const { buyer, seller, card } = await parties();
  const red = await h.api('POST', '/v1/red-packets', { member_id: buyer.id, amount: 200 });
  assert.equal(red.status, 201, JSON.stringify(red.body));
  const couponId = await coupon(buyer.id, 100);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'card', card_id: card }, { tool: 'coupon', coupon_id: couponId }, { tool: 'red_packet', red_packet_id: red.body.id }] });
  await eventually(async () => (await status(trade.id)).status === 'success', 'paid');
  const [order] = await h.platform.runtime.trade.payment.ordersOfTrade(trade.id);
  assert.deepEqual(
    (order!.methods as unknown as Array<Record<string, string>>).map((m) => [m.tool, m.amount]),
    [
      ['red_packet', '200'],
      ['coupon', '100'],
      ['card', '700'],
    ],
  );
  assert.equal((await h.balance(seller.accountId)).posted, 1_000n);

  const budget = await h.platform.runtime.marketing.marketingAccountId();
  const issued = await h.platform.runtime.marketing.issuedAccountId();
  const big = await coupon(buyer.id, 1_500);
  const [budgetBefore, issuedBefore] = [(await h.balance(budget)).posted, (await h.balance(issued)).posted];
  const small = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 600 });
  const paid = await h.api('POST', `/v1/trades/${small.id}/pay`, { methods: [{ tool: 'coupon', coupon_id: big }] });
  assert.equal(paid.body.status, 'success', JSON.stringify(paid.body));
  assert.equal((await h.balance(issued)).posted - issuedBefore, -1_500n);
  assert.equal((await h.balance(budget)).posted - budgetBefore, 900n);
  assert.equal((await h.balance(seller.accountId)).posted, 1_600n);
});
