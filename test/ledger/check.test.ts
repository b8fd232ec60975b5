/** The check finds every kind of damage: each is made by hand in the database, then undone. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { open, startLedger, type LedgerFixture } from './ledger-support.js';

let fixture: LedgerFixture;
let bank: string;
let member: string;
let slotted: string;

before(async () => {
  fixture = await startLedger('check');
  const ledger = fixture.ledger;
  bank = await open(ledger, { type: 'internal', currency: 'CNY' });
  member = await open(ledger, { type: 'member', currency: 'CNY' });
  slotted = await open(ledger, { type: 'merchant', currency: 'CNY', hot: 'sub_accounts', subCount: 2 });
  const fund = await ledger.post({ source: 'c', reference: 'fund', currency: 'CNY', entries: [{ accountId: bank, amount: -500n }, { accountId: member, amount: 300n }, { accountId: slotted, amount: 200n }] });
  assert.ok(fund.ok);
  assert.ok((await ledger.freeze({ source: 'c', reference: 'h', accountId: member, currency: 'CNY', amount: 50n })).ok);
  assert.equal((await ledger.check()).balanced, true);
});
after(async () => {
  await fixture?.close();
});

async function damaged(damage: string, undo: string): Promise<Awaited<ReturnType<LedgerFixture['ledger']['check']>>> {
  await fixture.pool.query(damage);
  try {
    const report = await fixture.ledger.check();
    assert.equal(report.balanced, false);
    return report;
  } finally {
    await fixture.pool.query(undo);
    assert.equal((await fixture.ledger.check()).balanced, true);
  }
}

test('a balance that differs from its entries', async () => {
  const report = await damaged(`update ledger.account set posted = posted + 1 where id = '${member}'`, `update ledger.account set posted = posted - 1 where id = '${member}'`);
  assert.deepEqual(report.mismatched_accounts, [`${member}:-1`]);
  assert.equal(report.by_currency.CNY!.balance_sum, 1n);
});

test('a slot that differs from its entries', async () => {
  const report = await damaged(
    `update ledger.sub_account set posted = posted + 7 where account_id = '${slotted}' and posted > 0`,
    `update ledger.sub_account set posted = posted - 7 where account_id = '${slotted}' and posted > 7`,
  );
  assert.equal(report.mismatched_accounts.length, 1);
  assert.ok(report.mismatched_accounts[0]!.startsWith(`${slotted}:`));
});

test('an unbalanced voucher, and an account below its floor', async () => {
  const report = await damaged(
    `with v as (select id from ledger.voucher where reference = 'fund')
     insert into ledger.entry (voucher_id, account_id, amount, balance_after, accounting_date)
     select v.id, '${member}', -400, -100, current_date from v;
     update ledger.account set posted = -100 where id = '${member}'`,
    `delete from ledger.entry where account_id = '${member}' and amount = -400;
     update ledger.account set posted = 300 where id = '${member}'`,
  );
  assert.equal(report.unbalanced_vouchers.length, 1);
  assert.deepEqual(report.negative_accounts, [member]);
  assert.equal(report.by_currency.CNY!.debits - report.by_currency.CNY!.credits, 400n);
});

test('a last balance_after that differs from the balance', async () => {
  const report = await damaged(
    `update ledger.entry set balance_after = balance_after + 1 where account_id = '${bank}'`,
    `update ledger.entry set balance_after = balance_after - 1 where account_id = '${bank}'`,
  );
  assert.deepEqual(report.mismatched_accounts, [`${bank}:-1`]);
});

test('frozen that differs from the open holds', async () => {
  const report = await damaged(`update ledger.account set frozen = frozen + 5 where id = '${member}'`, `update ledger.account set frozen = frozen - 5 where id = '${member}'`);
  assert.deepEqual(report.frozen_mismatches, [`${member}:-1`]);
});
