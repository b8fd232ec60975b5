/**
 * The vertical split: ledger, member, marketing and risk each in a database of their own. Member
 * creation and coupon issuing still move money exactly once (no shared transaction: the ordering
 * and the ledger's idempotency keys carry it), the TCC participant works in its own database, and
 * an Idempotency-Key repeat of an issue issues nothing more.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/platform/index.js';
import { issuedAccountCode } from '../../src/marketing/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { assertLedgerCheck, call, createMember } from '../member/member-support.js';

let platform: TestPlatform;
let client: { id: string; apiKey: string };

before(async () => {
  platform = await startTestPlatform({ label: 'mksplit', separate: ['ledger', 'member', 'marketing', 'risk'] });
  client = await platform.newClient('client-a');
});
after(async () => {
  await assertLedgerCheck(platform);
  await platform.close();
});

test('the four subsystems really are in four databases', () => {
  const urls = new Set((['ledger', 'member', 'marketing', 'risk'] as const).map((s) => platform.databases.url(s)));
  assert.equal(urls.size, 4);
  assert.equal(platform.databases.shareDatabase('member', 'ledger'), false);
});

test('member, coupon, TCC and risk across databases; an Idempotency-Key repeat issues once', async () => {
  const m = await createMember(platform, client.apiKey, { type: 'personal', name: 'Split', external_id: 'split-1' });
  assert.equal((await platform.runtime.ledger.getAccount(m.account_id))?.type, 'member');
  const issuedBefore = (await platform.runtime.ledger.getAccountByCode(issuedAccountCode))?.posted ?? 0n;
  const body = { member_id: m.id, amount: 1234, expires_at: new Date(Date.now() + 86_400_000).toISOString() };
  const first = await call(platform, client.apiKey, 'POST', '/v1/coupons', body, { 'idempotency-key': 'coupon-split-1' });
  const again = await call(platform, client.apiKey, 'POST', '/v1/coupons', body, { 'idempotency-key': 'coupon-split-1' });
  assert.equal(first.status, 201);
  assert.equal(again.status, 201);
  assert.equal(again.body.id, first.body.id);
  const reused = await call(platform, client.apiKey, 'POST', '/v1/coupons', { ...body, amount: 1 }, { 'idempotency-key': 'coupon-split-1' });
  assert.equal(reused.status, 409);
  assert.equal(reused.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  const issuedAfter = (await platform.runtime.ledger.getAccountByCode(issuedAccountCode))!.posted;
  assert.equal(issuedAfter - issuedBefore, 1234n);
  const activity = `split-${newId()}`;
  assert.deepEqual(await platform.runtime.marketing.tryReserve({ activity, toolId: first.body.id, memberId: m.id, clientId: client.id }), { ok: true, amount: 1234n });
  await platform.runtime.marketing.confirm(activity, first.body.id);
  assert.equal((await platform.runtime.marketing.get(client.id, first.body.id))?.status, 'used');
  const paid = await platform.runtime.ledger.post({ source: 'test.pay', reference: first.body.id, currency: 'CNY', entries: [{ accountId: await platform.runtime.marketing.issuedAccountId(), amount: -1234n }, { accountId: m.account_id, amount: 1234n }] });
  assert.ok(paid.ok);
  assert.deepEqual(await platform.runtime.risk.assess({ clientId: client.id, memberId: m.id, tool: 'card', amount: 5_000_001n, at: new Date() }), { ok: false, reason: 'limit_exceeded' });
  const account = await call(platform, client.apiKey, 'GET', `/v1/accounts/${m.account_id}`);
  assert.equal(account.body.available, 1234);
});
