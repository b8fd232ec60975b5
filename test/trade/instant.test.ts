/**
 * Instant trades over HTTP, one-phase (trade, payment, ledger and marketing in one database):
 * create with replay and conflict, pay with the balance, splits, refusals with no state change,
 * client isolation, events in the outbox, and the same trade paid twice at once paid once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { assertLedgerCheck, startTradeHarness, type TradeHarness } from './trade-support.js';

let h: TradeHarness;

before(async () => {
  h = await startTradeHarness('instant');
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

async function events(rootId: string): Promise<string[]> {
  const rows = await sql<{ type: string }>`select type from trade.outbox where key = ${rootId} order by seq`.execute(h.platform.databases.get('trade'));
  return rows.rows.map((r) => r.type);
}

test('create → pay with balance → success; money moved buyer → seller; events written with the state change', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller', 'merchant');
  await h.fund(buyer.accountId, 10_000n);
  const trade = await h.trade({ type: 'instant', out_trade_no: 'T-1', buyer_id: buyer.id, seller_id: seller.id, amount: 2_500 });
  assert.equal(trade.status, 'wait_pay');
  assert.equal(trade.amount, 2_500);
  assert.equal(trade.paid_amount, 0);
  const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  assert.equal(paid.body.status, 'success');
  assert.equal(paid.body.paid_amount, 2_500);
  assert.ok(paid.body.paid_at);
  assert.equal((await h.balance(buyer.accountId)).available, 7_500n);
  assert.equal((await h.balance(seller.accountId)).available, 2_500n);
  const got = await h.api('GET', `/v1/trades/${trade.id}`);
  assert.deepEqual(got.body, paid.body);
  const listed = await h.api('GET', '/v1/trades?out_trade_no=T-1');
  assert.equal(listed.body.data[0].id, trade.id);
  assert.deepEqual(await events(trade.id), ['trade.created', 'trade.paid', 'payment.reported']);
  // Events carry the trade exactly as GET shows it (merchant notifications are built from them) and the unified context.
  const [paidEvent] = (
    await sql<{ payload: any; context: any }>`select payload, context from trade.outbox where key = ${trade.id} and type = 'trade.paid'`.execute(h.platform.databases.get('trade'))
  ).rows;
  assert.deepEqual(paidEvent!.payload, { client_id: h.clientId, notify_url: null, object: got.body });
  assert.equal(paidEvent!.context.client, h.clientId);
  assert.equal(paidEvent!.context.merchant, seller.id);
  assert.equal(paidEvent!.context.tradeType, 'instant');
  assert.ok(paidEvent!.context.traceId);
  const [report] = (await sql<{ payload: any }>`select payload from trade.outbox where key = ${trade.id} and type = 'payment.reported'`.execute(h.platform.databases.get('trade'))).rows;
  assert.deepEqual(report!.payload.payment.methods, [{ tool: 'balance', amount: '2500' }]);
  assert.equal(report!.payload.trade.out_trade_no, 'T-1');
  const again = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'TRADE_NOT_PAYABLE');
});

test('out_trade_no: the same request returns the same trade, a different one is 409', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  const body = { type: 'instant', out_trade_no: 'T-replay', buyer_id: buyer.id, seller_id: seller.id, amount: 100, subject: 'tea' };
  const first = await h.api('POST', '/v1/trades', body);
  const second = await h.api('POST', '/v1/trades', body);
  assert.equal(first.status, 201);
  assert.equal(second.status, 200);
  assert.deepEqual(second.body, first.body);
  const conflict = await h.api('POST', '/v1/trades', { ...body, amount: 101 });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, 'OUT_TRADE_NO_CONFLICT');
  const count = await sql<{ n: string }>`select count(*)::text as n from trade.trade_order where out_no = 'T-replay'`.execute(h.platform.databases.get('trade'));
  assert.equal(count.rows[0]!.n, '1');
});

test('splits are paid out of the amount; the seller gets the rest', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  const platformFee = await h.member('platform', 'merchant');
  const logistics = await h.member('logistics', 'merchant');
  await h.fund(buyer.accountId, 10_000n);
  const trade = await h.trade({
    type: 'instant',
    buyer_id: buyer.id,
    seller_id: seller.id,
    amount: 10_000,
    splits: [
      { member_id: platformFee.id, amount: 500, memo: 'commission' },
      { member_id: logistics.id, amount: 800 },
    ],
  });
  const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(paid.body.status, 'success');
  assert.deepEqual(paid.body.splits, [
    { member_id: platformFee.id, amount: 500, memo: 'commission' },
    { member_id: logistics.id, amount: 800 },
  ]);
  assert.equal((await h.balance(seller.accountId)).available, 8_700n);
  assert.equal((await h.balance(platformFee.accountId)).available, 500n);
  assert.equal((await h.balance(logistics.accountId)).available, 800n);
  assert.equal((await h.balance(buyer.accountId)).available, 0n);
});

test('bad input is 400 with its code and changes nothing', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  const other = await h.member('other');
  const base = { type: 'instant', out_trade_no: 'T-bad', buyer_id: buyer.id, seller_id: seller.id, amount: 100, subject: 's' };
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ ...base, amount: 1.5 }, 400, 'INVALID_AMOUNT'],
    [{ ...base, amount: 0 }, 400, 'INVALID_AMOUNT'],
    [{ ...base, amount: -5 }, 400, 'INVALID_AMOUNT'],
    [{ ...base, amount: '100' }, 400, 'INVALID_AMOUNT'],
    [{ ...base, amount: 10_000_000_001 }, 400, 'AMOUNT_TOO_LARGE'],
    [{ ...base, type: 'layaway' }, 400, 'INVALID_REQUEST'],
    [{ ...base, extra: 1 }, 400, 'INVALID_REQUEST'],
    [{ ...base, seller_id: buyer.id }, 400, 'INVALID_REQUEST'],
    [{ ...base, splits: [{ member_id: other.id, amount: 100 }] }, 400, 'INVALID_SPLITS'],
    [{ ...base, splits: [{ member_id: seller.id, amount: 10 }] }, 400, 'INVALID_SPLITS'],
    [{ ...base, currency: 'USD' }, 400, 'INVALID_REQUEST'],
    [{ ...base, buyer_id: '0190b6a4-0000-7000-8000-000000000000' }, 404, 'NOT_FOUND'],
  ];
  for (const [body, status, code] of cases) {
    const reply = await h.api('POST', '/v1/trades', body);
    assert.equal(reply.status, status, `${JSON.stringify(body)} → ${JSON.stringify(reply.body)}`);
    assert.equal(reply.body.error.code, code, JSON.stringify(body));
  }
  assert.equal((await h.api('GET', '/v1/trades?out_trade_no=T-bad')).body.data.length, 0);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  for (const [body, code] of [
    [{ methods: [] }, 'INVALID_REQUEST'],
    [{ methods: [{ tool: 'cash' }] }, 'INVALID_REQUEST'],
    [{ methods: [{ tool: 'balance' }, { tool: 'balance' }] }, 'INVALID_PAYMENT_METHODS'],
    [{ methods: [{ tool: 'card' }] }, 'INVALID_REQUEST'],
  ] as const) {
    const reply = await h.api('POST', `/v1/trades/${trade.id}/pay`, body);
    assert.equal(reply.status, 400, JSON.stringify(reply.body));
    assert.equal(reply.body.error.code, code);
  }
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'wait_pay');
});

test('refusals: insufficient funds (422) leaves the trade unpaid and nothing frozen; a closed trade is not payable', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  await h.fund(buyer.accountId, 50n);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  const poor = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(poor.status, 422);
  assert.equal(poor.body.error.code, 'INSUFFICIENT_FUNDS');
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'wait_pay');
  assert.deepEqual(await h.balance(buyer.accountId), { ...(await h.balance(buyer.accountId)), posted: 50n, frozen: 0n, available: 50n });
  const closed = await h.api('POST', `/v1/trades/${trade.id}/close`);
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  assert.equal(closed.body.status, 'closed');
  assert.ok(closed.body.closed_at);
  const late = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(late.status, 409);
  assert.equal(late.body.error.code, 'TRADE_NOT_PAYABLE');
  assert.deepEqual(await events(trade.id), ['trade.created', 'trade.closed']);
});

test("another client's trade is 404 for every route", async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  const trade = await h.trade({ type: 'instant', out_trade_no: 'T-iso', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  const other = await h.platform.newClient('other');
  for (const [method, url, body] of [
    ['GET', `/v1/trades/${trade.id}`, undefined],
    ['POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] }],
    ['POST', `/v1/trades/${trade.id}/close`, undefined],
    ['POST', `/v1/trades/${trade.id}/refunds`, { out_refund_no: 'R', amount: 1 }],
    ['GET', '/v1/trades/not-an-id', undefined],
  ] as const) {
    const reply = await h.api(method, url, body, other.apiKey);
    assert.equal(reply.status, 404, `${method} ${url}`);
  }
  assert.equal((await h.api('GET', '/v1/trades?out_trade_no=T-iso', undefined, other.apiKey)).body.data.length, 0);
  // Another client's members cannot be named in a trade either.
  const reply = await h.api('POST', '/v1/trades', { type: 'instant', out_trade_no: 'X', buyer_id: buyer.id, seller_id: seller.id, amount: 1, subject: 's' }, other.apiKey);
  assert.equal(reply.status, 404);
});

test('the same trade paid twice at once is paid once', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  await h.fund(buyer.accountId, 100_000n);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 1_000 });
  const replies = await Promise.all(Array.from({ length: 10 }, () => h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] })));
  assert.equal(replies.filter((r) => r.status === 200).length, 1, JSON.stringify(replies.map((r) => r.status)));
  assert.ok(replies.every((r) => r.status === 200 || (r.status === 409 && r.body.error.code === 'TRADE_NOT_PAYABLE')));
  assert.equal((await h.balance(buyer.accountId)).available, 99_000n);
  assert.equal((await h.balance(seller.accountId)).available, 1_000n);
  const orders = await h.platform.runtime.trade.payment.ordersOfTrade(trade.id);
  assert.equal(orders.filter((o) => o.status === 'success').length, 1);
});

test('an unpaid trade past its timeout is closed by the job', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100, timeout_seconds: 60 });
  await h.platform.runtime.trade.runJobs(new Date(Date.now() + 30_000));
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'wait_pay');
  await h.platform.runtime.trade.runJobs(new Date(Date.now() + 61_000));
  const closed = await h.api('GET', `/v1/trades/${trade.id}`);
  assert.equal(closed.body.status, 'closed');
});
