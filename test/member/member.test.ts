/**
 * Members over HTTP on a real database: creation with the ledger account in the same request,
 * idempotency by external_id (concurrent too), crash repair, client isolation, accounts and entries,
 * bad input refused with no state change, and the member.created event in the outbox.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { newId, systemContext } from '../../src/platform/index.js';
import { memberAccountCode, type MemberDB } from '../../src/member/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { assertLedgerCheck, call, createMember } from './member-support.js';

let platform: TestPlatform;
let a: { id: string; apiKey: string };
let b: { id: string; apiKey: string };

before(async () => {
  platform = await startTestPlatform({ label: 'member' });
  a = await platform.newClient('client-a');
  b = await platform.newClient('client-b');
});
after(async () => {
  await assertLedgerCheck(platform);
  await platform.close();
});

const memberDb = () => platform.databases.get<MemberDB>('member');

test('a personal member is created with a CNY member account (floor 0) in the same request', async () => {
  const reply = await call(platform, a.apiKey, 'POST', '/v1/members', { type: 'personal', name: 'Li Lei' });
  assert.equal(reply.status, 201);
  const m = reply.body;
  assert.equal(m.type, 'personal');
  assert.equal(m.name, 'Li Lei');
  assert.equal(m.external_id, null);
  assert.equal(typeof m.id, 'string');
  assert.equal(m.accounts.length, 1);
  assert.deepEqual(Object.keys(m.accounts[0]).sort(), ['available', 'currency', 'frozen', 'id', 'member_id', 'posted', 'updated_at']);
  assert.equal(m.accounts[0].id, m.account_id);
  assert.equal(m.accounts[0].posted, 0);
  assert.equal(m.payment_password_set, false);
  assert.ok(!Number.isNaN(Date.parse(m.created_at)) && m.created_at.endsWith('Z'));
  const account = await platform.runtime.ledger.getAccount(m.account_id);
  assert.ok(account);
  assert.equal(account.type, 'member');
  assert.equal(account.currency, 'CNY');
  assert.equal(account.floor, 0n);
  assert.equal(account.code, memberAccountCode(m.id, 'CNY'));
  const got = await call(platform, a.apiKey, 'GET', `/v1/members/${m.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.account_id, m.account_id);
});

test('a merchant member gets a merchant account', async () => {
  const m = await createMember(platform, a.apiKey, { type: 'merchant', name: 'Shop 1' });
  const account = await platform.runtime.ledger.getAccount(m.account_id);
  assert.equal(account?.type, 'merchant');
  assert.equal(account?.floor, 0n);
});

test('external_id makes creation idempotent per client; other content under it is 409', async () => {
  const first = await call(platform, a.apiKey, 'POST', '/v1/members', { type: 'personal', name: 'Ext', external_id: 'u-1' });
  assert.equal(first.status, 201);
  const again = await call(platform, a.apiKey, 'POST', '/v1/members', { type: 'personal', name: 'Ext', external_id: 'u-1' });
  assert.equal(again.status, 200);
  assert.equal(again.body.id, first.body.id);
  assert.equal(again.body.account_id, first.body.account_id);
  const conflict = await call(platform, a.apiKey, 'POST', '/v1/members', { type: 'merchant', name: 'Ext', external_id: 'u-1' });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, 'MEMBER_EXTERNAL_ID_CONFLICT');
  // The same external id at another client is another member.
  const other = await call(platform, b.apiKey, 'POST', '/v1/members', { type: 'personal', name: 'Ext', external_id: 'u-1' });
  assert.equal(other.status, 201);
  assert.notEqual(other.body.id, first.body.id);
});

test('20 concurrent creations with one external_id make one member and one ledger account', async () => {
  const replies = await Promise.all(Array.from({ length: 20 }, () => call(platform, a.apiKey, 'POST', '/v1/members', { type: 'personal', name: 'Race', external_id: 'race-1' })));
  assert.ok(replies.every((r) => r.status === 201 || r.status === 200), JSON.stringify(replies.map((r) => r.status)));
  assert.equal(new Set(replies.map((r) => r.body.id)).size, 1);
  assert.equal(replies.filter((r) => r.status === 201).length, 1);
  const rows = await memberDb().selectFrom('member.member').select('id').where('external_id', '=', 'race-1').where('client_id', '=', a.id).execute();
  assert.equal(rows.length, 1);
  const accounts = await memberDb().selectFrom('member.account').select('id').where('member_id', '=', rows[0]!.id).execute();
  assert.equal(accounts.length, 1);
});

test('a member a crash left opening is finished by a retry, a read or the repair pass, with one account', async () => {
  const members = platform.runtime.members;
  const past = new Date(Date.now() - 60_000);
  // Crash after the row, before the ledger account: the repair pass opens it.
  const lonely = newId();
  await memberDb().insertInto('member.member').values({ id: lonely, client_id: a.id, type: 'personal', name: 'Crash 1', external_id: null, status: 'opening', created_at: past, updated_at: past }).execute();
  assert.ok((await members.repair()) >= 1);
  const repaired = await members.get(a.id, lonely);
  assert.ok(repaired);
  assert.equal((await platform.runtime.ledger.getAccount(repaired.accountId))?.code, memberAccountCode(lonely, 'CNY'));
  // Crash after the ledger account opened, before activation: the retry by external_id finds that account.
  const halfway = newId();
  await memberDb().insertInto('member.member').values({ id: halfway, client_id: a.id, type: 'merchant', name: 'Crash 2', external_id: 'crash-2', status: 'opening', created_at: past, updated_at: past }).execute();
  const opened = await platform.runtime.ledger.openAccount({ type: 'merchant', currency: 'CNY', code: memberAccountCode(halfway, 'CNY'), owner: halfway });
  assert.ok(opened.ok);
  const retried = await call(platform, a.apiKey, 'POST', '/v1/members', { type: 'merchant', name: 'Crash 2', external_id: 'crash-2' });
  assert.equal(retried.status, 200);
  assert.equal(retried.body.id, halfway);
  assert.equal(retried.body.account_id, opened.account.id);
  // Reading a half-open member finishes it too.
  const third = newId();
  await memberDb().insertInto('member.member').values({ id: third, client_id: a.id, type: 'personal', name: 'Crash 3', external_id: null, status: 'opening', created_at: past, updated_at: past }).execute();
  const read = await call(platform, a.apiKey, 'GET', `/v1/members/${third}`);
  assert.equal(read.status, 200);
  assert.equal(read.body.accounts.length, 1);
  const opening = await memberDb().selectFrom('member.member').select('id').where('status', '=', 'opening').execute();
  assert.deepEqual(opening, []);
  assert.equal(await members.repair(), 0);
});

test('another client sees none of this client’s members, accounts, entries, cards or codes (404)', async () => {
  const m = await createMember(platform, a.apiKey);
  const paths: Array<['GET' | 'POST', string, unknown?]> = [
    ['GET', `/v1/members/${m.id}`],
    ['GET', `/v1/members/${m.id}/accounts`],
    ['GET', `/v1/accounts/${m.account_id}`],
    ['GET', `/v1/accounts/${m.account_id}/entries`],
    ['POST', `/v1/members/${m.id}/cards`, { card_no: '6222000012340000', holder_name: 'X', phone: '13800000000' }],
    ['POST', `/v1/members/${m.id}/payment-password`, { password: '123456' }],
    ['POST', `/v1/members/${m.id}/payment-codes`, {}],
  ];
  for (const [method, url, body] of paths) {
    const reply = await call(platform, b.apiKey, method, url, body);
    assert.equal(reply.status, 404, `${method} ${url}`);
    assert.equal(reply.body.error.code, 'NOT_FOUND');
    const own = await call(platform, a.apiKey, 'GET', url.includes('/accounts/') ? url : `/v1/members/${m.id}`);
    assert.equal(own.status, 200);
  }
  assert.equal(await platform.runtime.members.get(b.id, m.id), undefined);
  assert.equal((await platform.runtime.members.getById(m.id))?.id, m.id);
  assert.equal((await call(platform, a.apiKey, 'GET', `/v1/members/${newId()}`)).status, 404);
  assert.equal((await call(platform, a.apiKey, 'GET', '/v1/members/not-a-uuid')).status, 404);
  assert.equal((await call(platform, a.apiKey, 'GET', `/v1/accounts/${newId()}`)).status, 404);
  // The password was not set by the other client's refused request.
  assert.equal(await platform.runtime.members.hasPaymentPassword(m.id), false);
});

test('accounts and entries: balances, signed amounts, memos, pages with has_more', async () => {
  const m = await createMember(platform, a.apiKey);
  const ledger = platform.runtime.ledger;
  const funding = await ledger.openAccount({ type: 'platform', currency: 'CNY', code: 'test:funding:CNY' });
  assert.ok(funding.ok);
  for (const [i, amount] of [1050n, 2000n, -300n].entries()) {
    const posted = await ledger.post({ source: 'test', reference: `entries-${m.id}-${i}`, currency: 'CNY', memo: `line ${i}`, entries: [{ accountId: m.account_id, amount }, { accountId: funding.account.id, amount: -amount }] });
    assert.ok(posted.ok);
  }
  const list = await call(platform, a.apiKey, 'GET', `/v1/members/${m.id}/accounts`);
  assert.equal(list.status, 200);
  assert.equal(list.body.has_more, false);
  assert.equal(list.body.data.length, 1);
  const account = await call(platform, a.apiKey, 'GET', `/v1/accounts/${m.account_id}`);
  assert.equal(account.status, 200);
  assert.equal(account.body.member_id, m.id);
  assert.equal(account.body.posted, 2750);
  assert.equal(account.body.available, 2750);
  assert.equal(account.body.frozen, 0);
  const page1 = await call(platform, a.apiKey, 'GET', `/v1/accounts/${m.account_id}/entries?limit=2`);
  assert.equal(page1.status, 200);
  assert.equal(page1.body.has_more, true);
  assert.deepEqual(page1.body.data.map((e: any) => [e.amount, e.balance_after, e.memo]), [[-300, 2750, 'line 2'], [2000, 3050, 'line 1']]);
  assert.equal(typeof page1.body.data[0].voucher_id, 'string');
  const page2 = await call(platform, a.apiKey, 'GET', `/v1/accounts/${m.account_id}/entries?limit=2&starting_after=${page1.body.data[1].id}`);
  assert.equal(page2.body.has_more, false);
  assert.deepEqual(page2.body.data.map((e: any) => e.amount), [1050]);
  assert.equal((await call(platform, a.apiKey, 'GET', `/v1/accounts/${m.account_id}/entries?limit=101`)).status, 400);
  assert.equal((await call(platform, a.apiKey, 'GET', `/v1/accounts/${m.account_id}/entries?starting_after=abc`)).status, 400);
  // Give the money back so the test leaves balances where they were.
  const back = await ledger.post({ source: 'test', reference: `entries-${m.id}-back`, currency: 'CNY', entries: [{ accountId: m.account_id, amount: -2750n }, { accountId: funding.account.id, amount: 2750n }] });
  assert.ok(back.ok);
});

test('bad input is 400 with its code and creates nothing', async () => {
  const count = async () => (await memberDb().selectFrom('member.member').select((eb) => eb.fn.countAll<bigint>().as('n')).executeTakeFirstOrThrow()).n;
  const before = await count();
  const bodies: unknown[] = [
    { type: 'personal', name: 'X', extra: 1 },
    { type: 'company', name: 'X' },
    { type: 'personal' },
    { type: 'personal', name: '' },
    { type: 'personal', name: 'X', external_id: 'has space' },
    { type: 'personal', name: 7 },
    [],
  ];
  for (const body of bodies) {
    const reply = await call(platform, a.apiKey, 'POST', '/v1/members', body);
    assert.equal(reply.status, 400, JSON.stringify(body));
    assert.equal(reply.body.error.code, 'INVALID_REQUEST');
  }
  const malformed = await call(platform, a.apiKey, 'POST', '/v1/members', '{"type":');
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.error.code, 'MALFORMED_JSON');
  const m = await createMember(platform, a.apiKey);
  for (const body of [{ password: '123' }, { password: 123456 }, { password: '123456', old: 'x' }, {}]) {
    const reply = await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-password`, body);
    assert.equal(reply.status, 400, JSON.stringify(body));
  }
  assert.equal(await platform.runtime.members.hasPaymentPassword(m.id), false);
  assert.equal((await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-codes`, { amount: 1 })).status, 400);
  assert.equal(await count(), before + 1n);
});

test('creation writes member.created to the member outbox in the same transaction', async () => {
  const m = await createMember(platform, a.apiKey, { type: 'personal', name: 'Evented', external_id: 'ev-1' });
  const rows = await sql<{ type: string; key: string; payload: Record<string, unknown>; context: Record<string, unknown> }>`select type, key, payload, context from member.outbox where key = ${m.id}`.execute(memberDb());
  assert.equal(rows.rows.length, 1);
  assert.equal(rows.rows[0]!.type, 'member.created');
  assert.equal(rows.rows[0]!.payload.account_id, m.account_id);
  assert.equal(rows.rows[0]!.context.client, a.id);
  await createMember(platform, a.apiKey, { type: 'personal', name: 'Evented', external_id: 'ev-1' });
  const again = await sql`select 1 from member.outbox where key = ${m.id}`.execute(memberDb());
  assert.equal(again.rows.length, 1, 'a replay emits nothing');
});

test('the service API: create with ctx, get, getById', async () => {
  const ctx = { ...systemContext('t'), client: a.id };
  const m = await platform.runtime.members.create(ctx, { type: 'merchant', name: 'Svc', externalId: 'svc-1' });
  assert.equal(m.clientId, a.id);
  assert.equal((await platform.runtime.members.create(ctx, { type: 'merchant', name: 'Svc', externalId: 'svc-1' })).id, m.id);
  await assert.rejects(platform.runtime.members.create(ctx, { type: 'personal', name: 'Svc', externalId: 'svc-1' }), /external_id/);
  assert.equal((await platform.runtime.members.get(a.id, m.id))?.accountId, m.accountId);
});
