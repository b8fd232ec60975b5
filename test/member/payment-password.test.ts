/**
 * Payment passwords and payment codes on a real database, time moved by a ManualClock: scrypt,
 * wrong versus locked, the lock after the configured tries and its end after the configured
 * period, concurrent guesses bounded; codes 18 digits, hashed, one-time, per client, 60 s.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, createLogger, sha256Hex } from '../../src/platform/index.js';
import { MemberService, type CardBinder, type MemberDB } from '../../src/member/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { assertLedgerCheck, call, createMember } from './member-support.js';

let platform: TestPlatform;
let a: { id: string; apiKey: string };
let b: { id: string; apiKey: string };
const clock = new ManualClock(new Date());
let members: MemberService;

const noCards: CardBinder = {
  signCard: async () => ({ ok: false, reason: 'BANK_UNAVAILABLE' }),
  verifyCard: async () => ({ ok: false, reason: 'BANK_UNAVAILABLE' }),
};

before(async () => {
  platform = await startTestPlatform({ label: 'memberpw' });
  a = await platform.newClient('client-a');
  b = await platform.newClient('client-b');
  // The same tables as the runtime's service, with time in the test's hands and a 10-minute lock.
  members = new MemberService({
    db: platform.databases.get<MemberDB>('member'),
    ledger: platform.runtime.ledger,
    cards: noCards,
    clock,
    logger: createLogger('silent'),
    options: { ...MemberService.optionsFrom(platform.config), passwordLockMs: 10 * 60_000 },
  });
});
after(async () => {
  await assertLedgerCheck(platform);
  await platform.close();
});

test('the password is set over HTTP, stored as scrypt, and verifies', async () => {
  const m = await createMember(platform, a.apiKey);
  assert.equal(await members.verifyPaymentPassword(m.id, '123456'), 'not_set');
  const reply = await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-password`, { password: '123456' });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.payment_password_set, true);
  const row = await platform.databases.get<MemberDB>('member').selectFrom('member.payment_password').selectAll().where('member_id', '=', m.id).executeTakeFirstOrThrow();
  assert.match(row.hash, /^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
  assert.ok(!row.hash.includes('123456'));
  assert.equal(await members.verifyPaymentPassword(m.id, '123456'), 'ok');
  assert.equal(await platform.runtime.members.verifyPaymentPassword(m.id, '123456'), 'ok');
  assert.equal(await members.verifyPaymentPassword(m.id, '654321'), 'wrong');
});

test('five wrong tries lock it; locked even for the right one; the lock ends after the period', async () => {
  const m = await createMember(platform, a.apiKey);
  await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-password`, { password: 'right-one' });
  const results = [];
  for (let i = 0; i < 5; i += 1) results.push(await members.verifyPaymentPassword(m.id, `wrong-${i}`));
  assert.deepEqual(results, ['wrong', 'wrong', 'wrong', 'wrong', 'locked']);
  assert.equal(await members.verifyPaymentPassword(m.id, 'right-one'), 'locked');
  clock.advance(10 * 60_000 - 1);
  assert.equal(await members.verifyPaymentPassword(m.id, 'right-one'), 'locked');
  clock.advance(1);
  assert.equal(await members.verifyPaymentPassword(m.id, 'right-one'), 'ok');
  // A fresh count after the lock: four wrong tries are still only 'wrong'.
  for (let i = 0; i < 4; i += 1) assert.equal(await members.verifyPaymentPassword(m.id, 'nope'), 'wrong');
  assert.equal(await members.verifyPaymentPassword(m.id, 'right-one'), 'ok', 'a right password resets the count');
  for (let i = 0; i < 4; i += 1) assert.equal(await members.verifyPaymentPassword(m.id, 'nope'), 'wrong');
});

test('once locked the right password is refused too; setting a new password unlocks', async () => {
  const m = await createMember(platform, a.apiKey);
  await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-password`, { password: 'first-pass' });
  for (let i = 0; i < 5; i += 1) await members.verifyPaymentPassword(m.id, 'x-wrong');
  assert.equal(await members.verifyPaymentPassword(m.id, 'first-pass'), 'locked');
  await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-password`, { password: 'second-pass' });
  assert.equal(await members.verifyPaymentPassword(m.id, 'first-pass'), 'wrong');
  assert.equal(await members.verifyPaymentPassword(m.id, 'second-pass'), 'ok');
});

test('30 concurrent wrong guesses get at most the allowed tries checked', async () => {
  const m = await createMember(platform, a.apiKey);
  await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-password`, { password: 'secret-1' });
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => members.verifyPaymentPassword(m.id, `guess-${i}`)));
  assert.ok(results.filter((r) => r === 'wrong').length <= 4, JSON.stringify(results));
  assert.ok(results.filter((r) => r === 'locked').length >= 26);
  assert.equal(await members.verifyPaymentPassword(m.id, 'secret-1'), 'locked');
});

test('the lock period comes from the configuration (default 30 minutes, 5 tries)', () => {
  assert.equal(platform.config.memberPasswordLockMs, 30 * 60_000);
  assert.equal(platform.config.memberPasswordTriesMax, 5);
});

test('payment codes: 18 digits, stored hashed, one-time, this client only', async () => {
  const m = await createMember(platform, a.apiKey);
  const reply = await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-codes`);
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  const code = reply.body.auth_code as string;
  assert.match(code, /^\d{18}$/);
  const ttl = Date.parse(reply.body.expires_at) - Date.now();
  assert.ok(ttl > 55_000 && ttl <= 60_000, String(ttl));
  const rows = await platform.databases.get<MemberDB>('member').selectFrom('member.payment_code').selectAll().where('member_id', '=', m.id).execute();
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.code_hash, sha256Hex(code));
  assert.ok(!JSON.stringify(rows).includes(code));
  assert.equal(await platform.runtime.members.redeemPaymentCode(b.id, code), undefined, 'another client cannot redeem it');
  assert.equal(await platform.runtime.members.redeemPaymentCode(a.id, code), m.id);
  assert.equal(await platform.runtime.members.redeemPaymentCode(a.id, code), undefined, 'one-time');
  assert.equal(await platform.runtime.members.redeemPaymentCode(a.id, '12345'), undefined);
  const empty = await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-codes`, {});
  assert.equal(empty.status, 201);
  assert.notEqual(empty.body.auth_code, code);
});

test('a payment code expires after 60 s; 20 concurrent redemptions of one code: one wins', async () => {
  const m = await createMember(platform, a.apiKey);
  const late = await members.issuePaymentCode(a.id, m.id);
  assert.equal(late.expiresAt.getTime() - clock.now().getTime(), 60_000);
  clock.advance(59_999);
  const inTime = await members.issuePaymentCode(a.id, m.id);
  clock.advance(1);
  assert.equal(await members.redeemPaymentCode(a.id, late.authCode), undefined, 'expired at 60 s');
  assert.equal(await members.redeemPaymentCode(a.id, inTime.authCode), m.id);
  const raced = await members.issuePaymentCode(a.id, m.id);
  const results = await Promise.all(Array.from({ length: 20 }, () => members.redeemPaymentCode(a.id, raced.authCode)));
  assert.equal(results.filter((r) => r === m.id).length, 1);
});

test('a count left above the maximum with no lock (a crash between count and lock) locks, and the lock ends', async () => {
  const m = await createMember(platform, a.apiKey);
  await call(platform, a.apiKey, 'POST', `/v1/members/${m.id}/payment-password`, { password: 'crash-pass' });
  await platform.databases.get<MemberDB>('member').updateTable('member.payment_password').set({ failed_count: 9, locked_until: null }).where('member_id', '=', m.id).execute();
  assert.equal(await members.verifyPaymentPassword(m.id, 'crash-pass'), 'locked');
  clock.advance(10 * 60_000);
  assert.equal(await members.verifyPaymentPassword(m.id, 'crash-pass'), 'ok');
});
