import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';

let platform: TestPlatform;

before(async () => {
  platform = await startTestPlatform({ label: 'ledgerhttp' });
});
after(async () => {
  await platform?.close();
});

test('GET /admin/ledger/check: operators only; the shape of API.md', async () => {
  const ledger = platform.runtime.ledger;
  const bank = await ledger.openAccount({ type: 'internal', currency: 'CNY' });
  const member = await ledger.openAccount({ type: 'member', currency: 'CNY' });
  assert.ok(bank.ok && member.ok);
  assert.ok((await ledger.post({ source: 't', reference: 'h1', currency: 'CNY', entries: [{ accountId: bank.account.id, amount: -250n }, { accountId: member.account.id, amount: 250n }] })).ok);

  const anonymous = await platform.runtime.http.inject({ method: 'GET', url: '/admin/ledger/check' });
  assert.equal(anonymous.statusCode, 401);
  const client = await platform.newClient();
  const asClient = await platform.runtime.http.inject({ method: 'GET', url: '/admin/ledger/check', headers: { authorization: `Bearer ${client.apiKey}` } });
  assert.equal(asClient.statusCode, 401);

  const viewer = await platform.newOperator('viewer');
  const response = await platform.runtime.http.inject({ method: 'GET', url: '/admin/ledger/check', headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(response.statusCode, 200);
  const body = response.json();
  assert.equal(body.balanced, true);
  assert.deepEqual(body.by_currency.CNY, { debits: 250, credits: 250, balance_sum: 0 });
  assert.deepEqual(body.negative_accounts, []);

  const bad = await platform.runtime.http.inject({ method: 'GET', url: '/admin/ledger/check?x=1', headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(bad.statusCode, 400);
});
