/**
 * Coupons and red packets on a real database: issued over HTTP from the marketing account (ledger
 * balances moved, idempotent by the tool id), bad input refused with no state change, client
 * isolation, expiry giving the money back (ManualClock), crash repair, and the outbox events.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { ManualClock, createLogger, newId, systemContext } from '../../src/platform/index.js';
import { MarketingService, issuedAccountCode, marketingAccountCode, type MarketingDB } from '../../src/marketing/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { assertLedgerCheck, call, createMember } from '../member/member-support.js';

let platform: TestPlatform;
let a: { id: string; apiKey: string };
let b: { id: string; apiKey: string };

before(async () => {
  platform = await startTestPlatform({ label: 'marketing' });
  a = await platform.newClient('client-a');
  b = await platform.newClient('client-b');
});
after(async () => {
  await assertLedgerCheck(platform);
  await platform.close();
});

const db = () => platform.databases.get<MarketingDB>('marketing');
const inADay = () => new Date(Date.now() + 86_400_000).toISOString();

async function balances(): Promise<{ marketing: bigint; issued: bigint }> {
  const ledger = platform.runtime.ledger;
  const marketing = await ledger.getAccountByCode(marketingAccountCode);
  const issued = await ledger.getAccountByCode(issuedAccountCode);
  return { marketing: marketing?.posted ?? 0n, issued: issued?.posted ?? 0n };
}

async function toolCount(): Promise<bigint> {
  return (await db().selectFrom('marketing.tool').select((eb) => eb.fn.countAll<bigint>().as('n')).executeTakeFirstOrThrow()).n;
}

test('a coupon is issued over HTTP: marketing −X, marketing-issued +X, one voucher keyed by the tool id', async () => {
  const m = await createMember(platform, a.apiKey);
  const before = await balances();
  const expiresAt = inADay();
  const reply = await call(platform, a.apiKey, 'POST', '/v1/coupons', { member_id: m.id, amount: 500, expires_at: expiresAt });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  assert.equal(reply.body.kind, 'coupon');
  assert.equal(reply.body.amount, 500);
  assert.equal(reply.body.status, 'available');
  assert.equal(reply.body.member_id, m.id);
  assert.equal(reply.body.expires_at, new Date(expiresAt).toISOString());
  const after = await balances();
  assert.equal(after.marketing - before.marketing, -500n);
  assert.equal(after.issued - before.issued, 500n);
  assert.equal(await platform.runtime.marketing.issuedAccountId(), (await platform.runtime.ledger.getAccountByCode(issuedAccountCode))?.id);
  const marketingAccount = await platform.runtime.ledger.getAccountByCode(marketingAccountCode);
  assert.equal(marketingAccount?.floor, null);
  assert.equal((await platform.runtime.ledger.getAccountByCode(issuedAccountCode))?.floor, 0n);
  const got = await call(platform, a.apiKey, 'GET', `/v1/coupons/${reply.body.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.id, reply.body.id);
  // The issue voucher is keyed by the tool id: posting it again posts nothing.
  const again = await platform.runtime.ledger.post({
    source: 'marketing.issue',
    reference: reply.body.id,
    currency: 'CNY',
    entries: [
      { accountId: marketingAccount!.id, amount: -500n },
      { accountId: await platform.runtime.marketing.issuedAccountId(), amount: 500n },
    ],
    memo: `coupon ${reply.body.id} issued`,
  });
  assert.ok(again.ok && again.replayed);
  assert.deepEqual(await balances(), after);
});

test('a red packet is issued without expiry; GET by kind', async () => {
  const m = await createMember(platform, a.apiKey);
  const before = await balances();
  const reply = await call(platform, a.apiKey, 'POST', '/v1/red-packets', { member_id: m.id, amount: 888 });
  assert.equal(reply.status, 201);
  assert.equal(reply.body.kind, 'red_packet');
  assert.equal(reply.body.expires_at, null);
  const after = await balances();
  assert.equal(after.issued - before.issued, 888n);
  assert.equal((await call(platform, a.apiKey, 'GET', `/v1/red-packets/${reply.body.id}`)).status, 200);
  assert.equal((await call(platform, a.apiKey, 'GET', `/v1/coupons/${reply.body.id}`)).status, 404, 'a red packet is not a coupon');
});

test('another client can neither issue to this client’s member nor see its tools (404)', async () => {
  const m = await createMember(platform, a.apiKey);
  const before = { tools: await toolCount(), money: await balances() };
  const issued = await call(platform, b.apiKey, 'POST', '/v1/coupons', { member_id: m.id, amount: 100, expires_at: inADay() });
  assert.equal(issued.status, 404);
  assert.equal((await call(platform, b.apiKey, 'POST', '/v1/red-packets', { member_id: m.id, amount: 100 })).status, 404);
  assert.equal((await call(platform, a.apiKey, 'POST', '/v1/red-packets', { member_id: newId(), amount: 100 })).status, 404);
  assert.deepEqual({ tools: await toolCount(), money: await balances() }, before);
  const own = await call(platform, a.apiKey, 'POST', '/v1/red-packets', { member_id: m.id, amount: 100 });
  assert.equal((await call(platform, b.apiKey, 'GET', `/v1/red-packets/${own.body.id}`)).status, 404);
  assert.equal(await platform.runtime.marketing.get(b.id, own.body.id), undefined);
  assert.equal((await platform.runtime.marketing.get(a.id, own.body.id))?.amount, 100n);
});

test('bad amounts, fields and expiries are 400 with their codes and change nothing', async () => {
  const m = await createMember(platform, a.apiKey);
  const before = { tools: await toolCount(), money: await balances() };
  const exp = inADay();
  const cases: Array<[string, unknown, string]> = [
    ['/v1/coupons', { member_id: m.id, amount: 10.5, expires_at: exp }, 'INVALID_AMOUNT'],
    ['/v1/coupons', { member_id: m.id, amount: '100', expires_at: exp }, 'INVALID_AMOUNT'],
    ['/v1/coupons', { member_id: m.id, amount: 0, expires_at: exp }, 'INVALID_AMOUNT'],
    ['/v1/coupons', { member_id: m.id, amount: -5, expires_at: exp }, 'INVALID_AMOUNT'],
    ['/v1/red-packets', { member_id: m.id, amount: 9007199254740992 }, 'INVALID_AMOUNT'],
    ['/v1/red-packets', { member_id: m.id, amount: 10_000_000_001 }, 'AMOUNT_TOO_LARGE'],
    ['/v1/red-packets', { member_id: m.id, amount: 100, currency: 'CNY' }, 'INVALID_REQUEST'],
    ['/v1/red-packets', { member_id: m.id, amount: 100, expires_at: exp }, 'INVALID_REQUEST'],
    ['/v1/red-packets', { amount: 100 }, 'INVALID_REQUEST'],
    ['/v1/coupons', { member_id: m.id, amount: 100 }, 'INVALID_REQUEST'],
    ['/v1/coupons', { member_id: m.id, amount: 100, expires_at: 'tomorrow' }, 'INVALID_REQUEST'],
    ['/v1/coupons', { member_id: m.id, amount: 100, expires_at: new Date(Date.now() - 1000).toISOString() }, 'INVALID_REQUEST'],
    ['/v1/coupons', { member_id: m.id, amount: 100, expires_at: '2999-01-01T00:00:00Z' }, 'INVALID_REQUEST'],
  ];
  for (const [url, body, code] of cases) {
    const reply = await call(platform, a.apiKey, 'POST', url, body);
    assert.equal(reply.status, 400, `${url} ${JSON.stringify(body)}: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.body.error.code, code, `${url} ${JSON.stringify(body)}`);
  }
  assert.deepEqual({ tools: await toolCount(), money: await balances() }, before);
});

test('expired unused tools give their money back to the marketing account, once', async () => {
  const clock = new ManualClock(new Date());
  const marketing = new MarketingService({
    db: db(),
    ledger: platform.runtime.ledger,
    members: platform.runtime.members,
    clock,
    logger: createLogger('silent'),
    options: MarketingService.optionsFrom(platform.config),
  });
  const m = await createMember(platform, a.apiKey);
  const ctx = { ...systemContext('expiry'), client: a.id };
  const start = await balances();
  const soon = await marketing.issue(ctx, { kind: 'coupon', memberId: m.id, amount: 300n, expiresAt: new Date(clock.now().getTime() + 60_000) });
  const later = await marketing.issue(ctx, { kind: 'coupon', memberId: m.id, amount: 200n, expiresAt: new Date(clock.now().getTime() + 3_600_000) });
  const used = await marketing.issue(ctx, { kind: 'red_packet', memberId: m.id, amount: 50n, expiresAt: new Date(clock.now().getTime() + 60_000) });
  const activity = `act-${newId()}`;
  assert.deepEqual(await marketing.tryReserve({ activity, toolId: used.id, memberId: m.id, clientId: a.id }), { ok: true, amount: 50n });
  await marketing.confirm(activity, used.id);
  assert.equal((await balances()).issued - start.issued, 550n);
  clock.advance(60_000);
  assert.equal(await marketing.expireDue(), 1, 'only the unused coupon past its time');
  assert.equal((await marketing.get(a.id, soon.id))?.status, 'expired');
  assert.equal((await marketing.get(a.id, later.id))?.status, 'available');
  assert.equal((await marketing.get(a.id, used.id))?.status, 'used');
  assert.equal(await marketing.returnExpired(), 1);
  assert.equal(await marketing.returnExpired(), 0, 'returned once');
  assert.equal(await marketing.expireDue(), 0);
  const now = await balances();
  assert.equal(now.issued - start.issued, 250n, 'the later coupon (200) and the used red packet (50) remain');
  assert.equal(now.marketing - start.marketing, -250n);
  // A try on an expired tool says so.
  assert.deepEqual(await marketing.tryReserve({ activity: `x-${newId()}`, toolId: soon.id, memberId: m.id, clientId: a.id }), { ok: false, reason: 'expired' });
  // Past its time but not yet swept: also expired for a try.
  clock.advance(3_600_000);
  assert.deepEqual(await marketing.tryReserve({ activity: `y-${newId()}`, toolId: later.id, memberId: m.id, clientId: a.id }), { ok: false, reason: 'expired' });
  assert.equal(await marketing.expireDue(), 1);
  assert.equal(await marketing.returnExpired(), 1);
  assert.equal((await balances()).issued - start.issued, 50n);
  // The used red packet's money leaves marketing-issued when the payment core pays with it; do it here.
  const issuedId = await marketing.issuedAccountId();
  const paid = await platform.runtime.ledger.post({ source: 'test.pay', reference: used.id, currency: 'CNY', entries: [{ accountId: issuedId, amount: -50n }, { accountId: m.account_id, amount: 50n }] });
  assert.ok(paid.ok);
});

test('a tool a crash left issuing is finished by the repair pass: one voucher, available', async () => {
  const m = await createMember(platform, a.apiKey);
  const id = newId();
  const past = new Date(Date.now() - 120_000);
  await db().insertInto('marketing.tool').values({ id, client_id: a.id, member_id: m.id, kind: 'red_packet', amount: 70n, currency: 'CNY', status: 'issuing', expires_at: null, reserved_by: null, created_at: past, updated_at: past }).execute();
  assert.equal(await platform.runtime.marketing.get(a.id, id), undefined, 'an issuing tool is not shown');
  const before = await balances();
  assert.equal(await platform.runtime.marketing.repair(), 1);
  assert.equal(await platform.runtime.marketing.repair(), 0);
  assert.equal((await platform.runtime.marketing.get(a.id, id))?.status, 'available');
  assert.equal((await balances()).issued - before.issued, 70n);
});

test('issue, reserve, use and expiry are in the marketing outbox', async () => {
  const m = await createMember(platform, a.apiKey);
  const reply = await call(platform, a.apiKey, 'POST', '/v1/red-packets', { member_id: m.id, amount: 10 });
  const activity = `ev-${newId()}`;
  await platform.runtime.marketing.tryReserve({ activity, toolId: reply.body.id, memberId: m.id, clientId: a.id });
  await platform.runtime.marketing.confirm(activity, reply.body.id);
  const rows = await sql<{ type: string; payload: Record<string, unknown> }>`select type, payload from marketing.outbox where key = ${reply.body.id} order by seq`.execute(db());
  assert.deepEqual(rows.rows.map((r) => r.type), ['marketing.tool_issued', 'marketing.tool_reserved', 'marketing.tool_used']);
  assert.equal(rows.rows[0]!.payload.amount, '10');
  const issuedId = await platform.runtime.marketing.issuedAccountId();
  assert.ok((await platform.runtime.ledger.post({ source: 'test.pay', reference: reply.body.id, currency: 'CNY', entries: [{ accountId: issuedId, amount: -10n }, { accountId: m.account_id, amount: 10n }] })).ok);
});
