import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Ledger } from '../../src/ledger/index.js';
import { open, startLedger, type LedgerFixture } from './ledger-support.js';

let fixture: LedgerFixture;
let ledger: Ledger;
let bank: string;

before(async () => {
  fixture = await startLedger('hot');
  ledger = fixture.ledger;
  bank = await open(ledger, { type: 'internal', currency: 'CNY' });
});
after(async () => {
  await fixture?.close();
});

async function assertBalanced(): Promise<void> {
  const report = await ledger.check();
  assert.equal(report.balanced, true, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

async function payers(count: number, each: bigint): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = await open(ledger, { type: 'member', currency: 'CNY' });
    const r = await ledger.post({ source: 'fund', reference: id, currency: 'CNY', entries: [{ accountId: bank, amount: -each }, { accountId: id, amount: each }] });
    assert.ok(r.ok);
    ids.push(id);
  }
  return ids;
}

/** Many concurrent debits of `amount` from `hot` over two engines ("processes"): exactly the affordable ones pass. */
async function drain(hot: string, amount: bigint, attempts: number, label: string): Promise<number> {
  const other = fixture.another();
  const sink = await open(ledger, { type: 'internal', currency: 'CNY' });
  const results = await Promise.all(
    Array.from({ length: attempts }, (_, i) =>
      (i % 2 === 0 ? ledger : other).post({ source: label, reference: `d-${i}`, currency: 'CNY', entries: [{ accountId: hot, amount: -amount }, { accountId: sink, amount }] }),
    ),
  );
  for (const r of results) assert.ok(r.ok || r.error === 'insufficient_funds', JSON.stringify(r));
  return results.filter((r) => r.ok).length;
}

test('buffered: credits without a lock, the true balance read at once, folded in order with balance_after', async () => {
  const fees = await open(ledger, { type: 'platform', currency: 'CNY', hot: 'buffered' });
  const from = await payers(20, 1_000n);
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      ledger.post({ source: 'fee', reference: `f-${i}`, currency: 'CNY', entries: [{ accountId: from[i % 20]!, amount: -3n }, { accountId: fees, amount: 3n }] }),
    ),
  );
  assert.ok(results.every((r) => r.ok));
  assert.equal((await ledger.balance(fees))!.posted, 600n, 'buffered entries are in the balance before any fold');
  assert.equal((await ledger.statement(fees))!.buffered, 200);
  await assertBalanced();
  assert.equal(await ledger.fold(), 200);
  const statement = await ledger.statement(fees, { limit: 100 });
  assert.equal(statement!.buffered, 0);
  assert.deepEqual(statement!.lines.slice(0, 3).map((l) => l.balanceAfter), [600n, 597n, 594n]);
  assert.equal((await ledger.balance(fees))!.posted, 600n);
  await assertBalanced();
});

test('buffered with a floor: concurrent debits from two engines never take it below the floor, folder running', async () => {
  const merchant = await open(ledger, { type: 'merchant', currency: 'CNY', hot: 'buffered' });
  const from = await payers(10, 1_000n);
  for (let i = 0; i < 10; i += 1) {
    const r = await ledger.post({ source: 'sale', reference: `s-${merchant}-${i}`, currency: 'CNY', entries: [{ accountId: from[i]!, amount: -100n }, { accountId: merchant, amount: 100n }] });
    assert.ok(r.ok);
  }
  const workers = ledger.workers();
  workers.forEach((w) => w.start());
  try {
    const passed = await drain(merchant, 30n, 60, `bf-${merchant}`);
    assert.equal(passed, 33);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
  assert.equal((await ledger.balance(merchant))!.available, 10n);
  while ((await ledger.fold()) > 0);
  assert.equal((await ledger.balance(merchant))!.available, 10n);
  await assertBalanced();
});

test('sub-accounts: writes spread over slots; concurrent debits against the floor split across slots, never below it', async () => {
  const merchant = await open(ledger, { type: 'merchant', currency: 'CNY', hot: 'sub_accounts', subCount: 8 });
  const from = await payers(10, 1_000n);
  // One batch writes one slot; successive batches move on to other slots.
  for (let i = 0; i < 10; i += 1) {
    const r = await ledger.post({ source: 'sale', reference: `s-${merchant}-${i}`, currency: 'CNY', entries: [{ accountId: from[i]!, amount: -100n }, { accountId: merchant, amount: 100n }] });
    assert.ok(r.ok);
  }
  const slots = await fixture.pool.query('select count(*) filter (where posted > 0) as used from ledger.sub_account where account_id = $1', [merchant]);
  assert.ok(Number(slots.rows[0].used) >= 5, 'credits spread over the slots');
  assert.equal((await ledger.balance(merchant))!.posted, 1_000n);
  const passed = await drain(merchant, 30n, 60, `sa-${merchant}`);
  assert.equal(passed, 33);
  assert.equal((await ledger.balance(merchant))!.available, 10n);
  // 10 left, scattered over slots: a debit of 10 takes it from several slots (one entry per slot).
  const sink = await open(ledger, { type: 'internal', currency: 'CNY' });
  const all = await ledger.post({ source: 'sa', reference: `all-${merchant}`, currency: 'CNY', entries: [{ accountId: merchant, amount: -10n }, { accountId: sink, amount: 10n }] });
  assert.ok(all.ok);
  assert.equal((await ledger.balance(merchant))!.posted, 0n);
  assert.deepEqual(await ledger.post({ source: 'sa', reference: `none-${merchant}`, currency: 'CNY', entries: [{ accountId: merchant, amount: -1n }, { accountId: sink, amount: 1n }] }), {
    ok: false,
    error: 'insufficient_funds',
    accountId: merchant,
  });
  await assertBalanced();
});

test('sub-accounts: a hold larger than any slot rebalances the slots first; more than the account has is refused', async () => {
  const merchant = await open(ledger, { type: 'merchant', currency: 'CNY', hot: 'sub_accounts', subCount: 4 });
  const from = await payers(4, 500n);
  for (const [i, payer] of from.entries()) {
    assert.ok((await ledger.post({ source: 'sale', reference: `rb-in-${merchant}-${i}`, currency: 'CNY', entries: [{ accountId: payer, amount: -100n }, { accountId: merchant, amount: 100n }] })).ok);
  }
  const slots = async (): Promise<bigint[]> =>
    (await sql<{ posted: string }>`select posted::text from ledger.sub_account where account_id = ${merchant} order by slot`.execute(fixture.db)).rows.map((r) => BigInt(r.posted));
  assert.ok(Math.max(...(await slots()).map(Number)) < 350, 'the money is spread so that no slot holds 350');
  assert.deepEqual(await ledger.freeze({ source: 'refund', reference: `rb-big-${merchant}`, accountId: merchant, currency: 'CNY', amount: 401n }), { ok: false, error: 'insufficient_funds' });
  const hold = { source: 'refund', reference: `rb-${merchant}` };
  const frozen = await ledger.freeze({ ...hold, accountId: merchant, currency: 'CNY', amount: 350n });
  assert.ok(frozen.ok && !frozen.replayed);
  assert.deepEqual(await ledger.freeze({ ...hold, accountId: merchant, currency: 'CNY', amount: 350n }), { ok: true, holdId: frozen.holdId, replayed: true });
  assert.deepEqual(await ledger.balance(merchant), { posted: 400n, frozen: 350n, available: 50n, currency: 'CNY' });
  assert.equal((await slots()).reduce((a, b) => a + b, 0n), 400n);
  const sink = await open(ledger, { type: 'internal', currency: 'CNY' });
  assert.ok((await ledger.postFromHold({ hold, source: 'refund', reference: `rb-post-${merchant}`, currency: 'CNY', to: [{ accountId: sink, amount: 350n }] })).ok);
  assert.deepEqual(await ledger.balance(merchant), { posted: 50n, frozen: 0n, available: 50n, currency: 'CNY' });
  await assertBalanced();
});

test('sub-accounts with an overdraft: the sum goes down to -overdraft and no further; holds work per slot', async () => {
  const merchant = await open(ledger, { type: 'merchant', currency: 'CNY', hot: 'sub_accounts', subCount: 4, floor: -100n });
  const passed = await drain(merchant, 30n, 10, `od-${merchant}`);
  assert.equal(passed, 3);
  assert.equal((await ledger.balance(merchant))!.posted, -90n);
  const from = await payers(1, 500n);
  assert.ok((await ledger.post({ source: 'sale', reference: `od-in-${merchant}`, currency: 'CNY', entries: [{ accountId: from[0]!, amount: -300n }, { accountId: merchant, amount: 300n }] })).ok);
  const hold = { source: 'fee', reference: `h-${merchant}` };
  const frozen = await ledger.freeze({ ...hold, accountId: merchant, currency: 'CNY', amount: 150n });
  assert.ok(frozen.ok);
  assert.equal((await ledger.balance(merchant))!.frozen, 150n);
  const sink = await open(ledger, { type: 'platform', currency: 'CNY' });
  assert.ok((await ledger.postFromHold({ hold, source: 'fee', reference: `h-post-${merchant}`, currency: 'CNY', to: [{ accountId: sink, amount: 100n }] })).ok);
  assert.deepEqual(await ledger.balance(merchant), { posted: 110n, frozen: 0n, available: 110n, currency: 'CNY' });
  await assertBalanced();
});
