/**
 * The JSON routes of src/web over inject(): cashier links (signature, expiry, one trade only),
 * the cashier's payment methods with a weak source timing out, paying through the link, operator
 * login and roles, the dashboard, trades, members and clients, and the built pages' headers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { issueCashierToken } from '../../src/web/index.js';
import { startTradeHarness, assertLedgerCheck, type TradeHarness } from '../trade/trade-support.js';

let h: TradeHarness;
let buyer: { id: string; accountId: string };
let seller: { id: string; accountId: string };
let paidTradeId: string;

before(async () => {
  h = await startTradeHarness('webapi', { config: { web: { cashierSecret: 'test-cashier-secret-0123456789', cashierLinkTtlMs: 60_000, cashierSourceTimeoutMs: 1_000 } } });
  buyer = await h.member('buyer');
  seller = await h.member('shop', 'merchant');
  await h.fund(buyer.accountId, 50_000n);
  assert.equal((await h.api('POST', `/v1/members/${buyer.id}/payment-password`, { password: '135790' })).status, 200);
});
after(async () => {
  await assertLedgerCheck(h.platform);
  await h.close();
});

async function link(tradeId: string, body: unknown = { return_url: 'https://shop.example/done' }): Promise<string> {
  const reply = await h.api('POST', `/v1/trades/${tradeId}/cashier-link`, body);
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  assert.match(reply.body.url, new RegExp(`^/cashier/${tradeId}#t=`));
  return reply.body.token as string;
}

async function cashier(method: 'GET' | 'POST', tradeId: string, token: string, body?: unknown) {
  const response = await h.platform.runtime.http.inject({
    method,
    url: method === 'GET' ? `/v1/cashier/${tradeId}` : `/v1/cashier/${tradeId}/pay`,
    headers: { authorization: `Cashier ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, any> };
}

test('a cashier link shows the trade and every method; it pays with the password and a coupon', async () => {
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 3_000 });
  const coupon = await h.api('POST', '/v1/coupons', { member_id: buyer.id, amount: 500, expires_at: new Date(Date.now() + 86_400_000).toISOString() });
  assert.equal(coupon.status, 201, JSON.stringify(coupon.body));
  const card = await h.card(buyer.id);
  const token = await link(trade.id);

  const view = await cashier('GET', trade.id, token);
  assert.equal(view.status, 200, JSON.stringify(view.body));
  assert.equal(view.body.trade.amount, 3_000);
  assert.match(view.body.trade.merchant, /^shop-/);
  assert.equal(view.body.return_url, 'https://shop.example/done');
  assert.equal(view.body.methods.balance.available, 50_000);
  assert.deepEqual(view.body.methods.cards.map((c: { id: string }) => c.id), [card]);
  assert.deepEqual(view.body.methods.coupons.map((c: { id: string }) => c.id), [coupon.body.id]);
  assert.deepEqual(view.body.sources, { balance: 'ok', cards: 'ok', tools: 'ok' });
  assert.equal(view.body.trade.notify_url, undefined, 'the buyer sees no client data');

  const wrong = await cashier('POST', trade.id, token, { methods: [{ tool: 'coupon', coupon_id: coupon.body.id }, { tool: 'balance' }], payment_password: '000000' });
  assert.equal(wrong.status, 422);
  assert.equal(wrong.body.error.code, 'PAYMENT_PASSWORD_WRONG');
  const paid = await cashier('POST', trade.id, token, { methods: [{ tool: 'coupon', coupon_id: coupon.body.id }, { tool: 'balance' }], payment_password: '135790' });
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  assert.equal(paid.body.trade.status, 'success');
  paidTradeId = trade.id;
  assert.equal((await h.balance(buyer.accountId)).available, 50_000n - 2_500n);
  assert.equal((await h.api('GET', `/v1/coupons/${coupon.body.id}`)).body.status, 'used');
});

test('a weak source that does not answer in time is left out, not fatal', async () => {
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  const token = await link(trade.id, null);
  const marketing = h.platform.runtime.marketing;
  const original = marketing.availableFor.bind(marketing);
  marketing.availableFor = async (...args) => {
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    return original(...args);
  };
  try {
    const started = Date.now();
    const view = await cashier('GET', trade.id, token);
    const took = Date.now() - started;
    assert.equal(view.status, 200, JSON.stringify(view.body));
    assert.deepEqual(view.body.sources, { balance: 'ok', cards: 'ok', tools: 'timeout' });
    assert.deepEqual(view.body.methods.coupons, []);
    assert.ok(view.body.methods.balance.available > 0, 'the other sources are still there');
    assert.ok(took >= 900 && took < 3_500, `answered at the source timeout, not after the slow source (${took} ms)`);
    assert.equal(view.body.return_url, null);
  } finally {
    marketing.availableFor = original;
  }
  // A source that throws is left out the same way.
  const members = h.platform.runtime.members;
  const cards = members.activeCards.bind(members);
  members.activeCards = async () => {
    throw new Error('cards down');
  };
  try {
    const view = await cashier('GET', trade.id, token);
    assert.equal(view.status, 200);
    assert.equal(view.body.sources.cards, 'error');
  } finally {
    members.activeCards = cards;
  }
});

test('a cashier link is bound to its trade, signed, and expires; the page never takes an API key', async () => {
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  const other = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  const token = await link(trade.id);
  const secret = h.platform.config.web.cashierSecret;

  assert.equal((await cashier('GET', other.id, token)).status, 401, 'another trade');
  const [payload, signature] = token.split('.') as [string, string];
  const forged = `${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
  assert.equal((await cashier('GET', trade.id, forged)).status, 401, 'forged signature');
  const expired = issueCashierToken(secret, { tradeId: trade.id, clientId: h.clientId, returnUrl: undefined, expiresAt: Date.now() - 1 });
  const refused = await cashier('GET', trade.id, expired);
  assert.equal(refused.status, 401);
  assert.match(refused.body.error.details.reason, /expired/);
  const otherClient = issueCashierToken(secret, { tradeId: trade.id, clientId: '01900000-0000-7000-8000-000000000000', returnUrl: undefined, expiresAt: Date.now() + 60_000 });
  assert.equal((await cashier('GET', trade.id, otherClient)).status, 404, "a client's link does not reach another client's trade");

  const withKey = await h.platform.runtime.http.inject({ method: 'GET', url: `/v1/cashier/${trade.id}`, headers: { authorization: `Bearer ${h.key}` } });
  assert.equal(withKey.statusCode, 400, 'only a cashier link is accepted (schema)');
  const noLink = await h.platform.runtime.http.inject({ method: 'POST', url: `/v1/trades/${trade.id}/cashier-link`, headers: { 'content-type': 'application/json' }, payload: '{}' });
  assert.equal(noLink.statusCode, 401, 'links are issued to API clients only');
  const badBody = await h.api('POST', `/v1/trades/${trade.id}/cashier-link`, { return_url: 'javascript:alert(1)' });
  assert.equal(badBody.status, 400);
  const extra = await cashier('POST', trade.id, token, { methods: [{ tool: 'balance' }], extra: 1 });
  assert.equal(extra.status, 400, 'unknown fields refused');
});

test('operators log in; the console routes check roles and answer their schemas', async () => {
  const viewer = await h.platform.newOperator('viewer');
  const admin = await h.platform.newOperator('admin');
  const inject = (method: 'GET' | 'POST', url: string, token?: string, body?: unknown) =>
    h.platform.runtime.http.inject({ method, url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { payload: JSON.stringify(body) } : {}) });

  assert.equal((await inject('POST', '/admin/login', undefined, { name: viewer.name, password: 'wrong' })).statusCode, 401);
  const login = await inject('POST', '/admin/login', undefined, { name: viewer.name, password: viewer.password });
  assert.equal(login.statusCode, 200);
  const session = JSON.parse(login.body) as { token: string; operator: { role: string } };
  assert.equal(session.operator.role, 'viewer');
  assert.equal((await inject('GET', '/admin/me', session.token)).statusCode, 200);
  assert.equal((await inject('GET', '/admin/dashboard')).statusCode, 401);

  const dashboard = JSON.parse((await inject('GET', '/admin/dashboard', session.token)).body) as { window_seconds: number; channels: Array<{ code: string; payments_ok: number[]; circuit: string }> };
  assert.deepEqual(dashboard.channels.map((c) => c.code).sort(), ['alpha-quickpay', 'beta-quickpay']);
  assert.equal(dashboard.channels[0]!.payments_ok.length, dashboard.window_seconds);

  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 100 });
  const found = JSON.parse((await inject('GET', `/admin/trades?client_id=${h.clientId}&trade_id=${trade.id}`, session.token)).body) as { data: Array<{ id: string; kind: string }> };
  assert.deepEqual(found.data.map((t) => [t.kind, t.id]), [['trade', trade.id]]);
  assert.equal((await inject('GET', `/admin/trades?client_id=${h.clientId}`, session.token)).statusCode, 400);
  const paid = JSON.parse((await inject('GET', `/admin/trades?client_id=${h.clientId}&trade_id=${paidTradeId}`, session.token)).body) as { data: Array<{ payments: Array<{ status: string; tcc: string; methods: unknown[]; activity: unknown }> }> };
  const [payment] = paid.data[0]!.payments;
  assert.ok(payment, 'the paid trade shows its payment order');
  assert.equal(payment.methods.length, 2);
  // Ledger and marketing share this database: one local transaction, so no TCC activity row.
  assert.equal(payment.tcc, 'one_phase');
  assert.equal(payment.activity, null);
  assert.equal((await inject('GET', `/admin/trades?client_id=${h.clientId}&trade_id=${trade.id}&x=1`, session.token)).statusCode, 400);

  const member = JSON.parse((await inject('GET', `/admin/members/${buyer.id}`, session.token)).body) as { accounts: Array<{ available: number; entries: unknown[] }> };
  assert.ok(member.accounts[0]!.entries.length >= 1);

  const clients = JSON.parse((await inject('GET', '/admin/clients', session.token)).body) as { data: Array<Record<string, unknown>> };
  assert.ok(clients.data.some((c) => c.id === h.clientId));
  assert.ok(clients.data.every((c) => !('notify_secret' in c) && !('api_key' in c)), 'no secrets listed');
  assert.equal((await inject('POST', '/admin/clients', session.token, { name: 'x' })).statusCode, 403, 'a viewer may not create clients');
  const created = await inject('POST', '/admin/clients', admin.token, { name: 'from-console' });
  assert.equal(created.statusCode, 201);
  assert.match((JSON.parse(created.body) as { api_key: string }).api_key, /.{16,}/);
});

test('the pages are served with their security headers; assets only by safe names', async () => {
  const page = await h.platform.runtime.http.inject({ method: 'GET', url: '/cashier/some-trade' });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /text\/html/);
  assert.match(page.headers['content-security-policy'] as string, /frame-ancestors 'none'/);
  assert.equal(page.headers['referrer-policy'], 'no-referrer');
  const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
  assert.ok(script, page.body);
  const asset = await h.platform.runtime.http.inject({ method: 'GET', url: script });
  assert.equal(asset.statusCode, 200);
  assert.match(asset.headers['cache-control'] as string, /immutable/);
  assert.equal((await h.platform.runtime.http.inject({ method: 'GET', url: '/ui/assets/..%2Fpackage.json' })).statusCode, 400);
  assert.equal((await h.platform.runtime.http.inject({ method: 'GET', url: '/console' })).statusCode, 200);
});

test('console login: after 5 wrong passwords the name is refused with 429 until the window passes, even with the right one', async () => {
  const target = await h.platform.newOperator('viewer');
  const other = await h.platform.newOperator('viewer');
  const login = (name: string, password: string) =>
    h.platform.runtime.http.inject({ method: 'POST', url: '/admin/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name, password }) });
  for (let i = 0; i < 5; i += 1) assert.equal((await login(target.name, `guess-${i}`)).statusCode, 401);
  const locked = await login(target.name, target.password);
  assert.equal(locked.statusCode, 429);
  assert.equal(JSON.parse(locked.body).error.code, 'RATE_LIMITED');
  assert.ok(Number(locked.headers['retry-after']) > 800, `Retry-After ${String(locked.headers['retry-after'])} s`);
  // Another operator is not affected; a success clears its own count.
  assert.equal((await login(other.name, 'wrong')).statusCode, 401);
  assert.equal((await login(other.name, other.password)).statusCode, 200);
});
