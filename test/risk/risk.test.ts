/**
 * Risk on a real database: API.md's defaults (password above 2,000.00 for payments and transfers;
 * card payments and recharges at most 50,000.00 each and 200,000.00 a day per member and tool),
 * usage recorded idempotently, the day boundary, the blacklist, a client's own limits, and the
 * operator routes with their bad input.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/platform/index.js';
import type { RiskDB } from '../../src/risk/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { assertLedgerCheck, call } from '../member/member-support.js';

let platform: TestPlatform;
let clientId: string;
let admin: { token: string };
let viewer: { token: string };

before(async () => {
  platform = await startTestPlatform({ label: 'risk' });
  clientId = (await platform.newClient('client-a')).id;
  admin = await platform.newOperator('admin');
  viewer = await platform.newOperator('viewer');
});
after(async () => {
  await assertLedgerCheck(platform);
  await platform.close();
});

const risk = () => platform.runtime.risk;
const day1 = new Date('2026-03-01T10:00:00Z');

test('API.md defaults: the password threshold and the card and recharge limits', async () => {
  const memberId = newId();
  const assess = (tool: any, amount: bigint) => risk().assess({ clientId, memberId, tool, amount, at: day1 });
  assert.deepEqual(await assess('balance', 200_000n), { ok: true, passwordRequired: false });
  assert.deepEqual(await assess('balance', 200_001n), { ok: true, passwordRequired: true });
  assert.deepEqual(await assess('transfer', 200_001n), { ok: true, passwordRequired: true });
  assert.deepEqual(await assess('card', 5_000_000n), { ok: true, passwordRequired: true });
  assert.deepEqual(await assess('card', 5_000_001n), { ok: false, reason: 'limit_exceeded' });
  assert.deepEqual(await assess('recharge', 5_000_001n), { ok: false, reason: 'limit_exceeded' });
  assert.deepEqual(await assess('recharge', 5_000_000n), { ok: true, passwordRequired: false });
  assert.deepEqual(await assess('balance', 9_000_000_000n), { ok: true, passwordRequired: true }, 'balance is bounded only by the balance');
});

test('the daily limit sums recorded use per member, tool and day; a repeated reference counts once', async () => {
  const memberId = newId();
  for (let i = 0; i < 4; i += 1) await risk().record({ memberId, tool: 'card', amount: 5_000_000n, at: day1, reference: `pay-${memberId}-${i}` });
  await risk().record({ memberId, tool: 'card', amount: 5_000_000n, at: day1, reference: `pay-${memberId}-3` });
  assert.equal(await risk().usedOn(memberId, 'card', '2026-03-01'), 20_000_000n);
  assert.deepEqual(await risk().assess({ clientId, memberId, tool: 'card', amount: 1n, at: day1 }), { ok: false, reason: 'limit_exceeded' });
  assert.deepEqual(await risk().assess({ clientId, memberId, tool: 'recharge', amount: 1n, at: day1 }), { ok: true, passwordRequired: false }, 'per tool');
  assert.deepEqual(await risk().assess({ clientId, memberId: newId(), tool: 'card', amount: 1n, at: day1 }), { ok: true, passwordRequired: false }, 'per member');
  const nextDay = new Date('2026-03-02T00:00:00Z');
  assert.deepEqual(await risk().assess({ clientId, memberId, tool: 'card', amount: 5_000_000n, at: nextDay }), { ok: true, passwordRequired: true });
  const rows = await platform.databases.get<RiskDB>('risk').selectFrom('risk.usage').selectAll().where('member_id', '=', memberId).execute();
  assert.equal(rows.length, 4);
});

test('the blacklist refuses every tool until lifted', async () => {
  const memberId = newId();
  await risk().blacklist(memberId, 'fraud report 42');
  for (const tool of ['balance', 'card', 'coupon', 'transfer', 'withdrawal'] as const) {
    assert.deepEqual(await risk().assess({ clientId, memberId, tool, amount: 1n, at: day1 }), { ok: false, reason: 'blacklisted' });
  }
  await risk().blacklist(memberId, 'again');
  assert.equal(await risk().unblacklist(memberId), true);
  assert.deepEqual(await risk().assess({ clientId, memberId, tool: 'balance', amount: 1n, at: day1 }), { ok: true, passwordRequired: false });
});

test('a client may have its own limits per tool; others keep the defaults', async () => {
  const own = (await platform.newClient('client-own')).id;
  await risk().setClientLimits(own, 'balance', { singleLimit: 1_000n, dailyLimit: 1_500n, passwordThreshold: 0n });
  const memberId = newId();
  assert.deepEqual(await risk().assess({ clientId: own, memberId, tool: 'balance', amount: 1_001n, at: day1 }), { ok: false, reason: 'limit_exceeded' });
  assert.deepEqual(await risk().assess({ clientId: own, memberId, tool: 'balance', amount: 1n, at: day1 }), { ok: true, passwordRequired: true });
  await risk().record({ memberId, tool: 'balance', amount: 1_000n, at: day1, reference: `own-${memberId}` });
  assert.deepEqual(await risk().assess({ clientId: own, memberId, tool: 'balance', amount: 501n, at: day1 }), { ok: false, reason: 'limit_exceeded' });
  assert.deepEqual(await risk().assess({ clientId, memberId, tool: 'balance', amount: 501n, at: day1 }), { ok: true, passwordRequired: false });
  await risk().clearClientLimits(own, 'balance');
  assert.deepEqual(await risk().assess({ clientId: own, memberId, tool: 'balance', amount: 501n, at: day1 }), { ok: true, passwordRequired: false });
});

test('operator routes: limits and blacklist, roles enforced, bad input 400 and no change', async () => {
  const url = `/admin/risk/limits/${clientId}/card`;
  const got = await call(platform, viewer.token, 'GET', url);
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, { single_limit: 5_000_000, daily_limit: 20_000_000, password_threshold: 200_000 });
  assert.equal((await call(platform, viewer.token, 'PUT', url, { single_limit: 1, daily_limit: 2, password_threshold: null })).status, 403);
  for (const body of [{ single_limit: 1.5, daily_limit: 2, password_threshold: null }, { single_limit: -1, daily_limit: 2, password_threshold: null }, { single_limit: '1', daily_limit: 2, password_threshold: null }, { single_limit: 1, daily_limit: 2 }, { single_limit: 1, daily_limit: 2, password_threshold: null, x: 1 }]) {
    const reply = await call(platform, admin.token, 'PUT', url, body);
    assert.equal(reply.status, 400, JSON.stringify(body));
  }
  assert.equal((await call(platform, admin.token, 'PUT', `/admin/risk/limits/${clientId}/cash`, { single_limit: 1, daily_limit: 2, password_threshold: null })).status, 400);
  assert.deepEqual((await call(platform, viewer.token, 'GET', url)).body.single_limit, 5_000_000, 'nothing changed');
  const put = await call(platform, admin.token, 'PUT', url, { single_limit: 100_000, daily_limit: null, password_threshold: null });
  assert.equal(put.status, 200);
  assert.deepEqual(await risk().limits(clientId, 'card'), { singleLimit: 100_000n, dailyLimit: null, passwordThreshold: null });
  await risk().clearClientLimits(clientId, 'card');
  const memberId = newId();
  const listed = await call(platform, admin.token, 'POST', '/admin/risk/blacklist', { member_id: memberId, reason: 'chargebacks' });
  assert.equal(listed.status, 201);
  assert.equal(await risk().isBlacklisted(memberId), true);
  assert.equal((await call(platform, admin.token, 'DELETE', `/admin/risk/blacklist/${memberId}`)).status, 204);
  assert.equal((await call(platform, admin.token, 'DELETE', `/admin/risk/blacklist/${memberId}`)).status, 404);
  assert.equal(await risk().isBlacklisted(memberId), false);
  const apiKey = (await platform.newClient('not-an-operator')).apiKey;
  assert.equal((await call(platform, apiKey, 'POST', '/admin/risk/blacklist', { member_id: memberId, reason: 'x' })).status, 401);
});
