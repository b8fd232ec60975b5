import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/platform/index.js';
import type { Ledger } from '../../src/ledger/index.js';
import { open, startLedger, type LedgerFixture } from './ledger-support.js';

const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
let fixture: LedgerFixture;
let ledger: Ledger;
let bank: string;

before(async () => {
  fixture = await startLedger('ledger', {}, clock);
  ledger = fixture.ledger;
  bank = await open(ledger, { type: 'internal', currency: 'CNY', code: 'bank:CNY' });
});
after(async () => {
  await fixture?.close();
});

async function funded(amount: bigint, extra: Parameters<Ledger['openAccount']>[0] = { type: 'member', currency: 'CNY' }): Promise<string> {
  const id = await open(ledger, extra);
  const result = await ledger.post({ source: 'test', reference: `fund-${id}`, currency: extra.currency, entries: [{ accountId: bank, amount: -amount }, { accountId: id, amount }] });
  assert.ok(result.ok);
  return id;
}

async function assertBalanced(): Promise<void> {
  while ((await ledger.fold()) > 0);
  const report = await ledger.check();
  assert.equal(report.balanced, true, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

test('accounts: defaults, codes are unique, bad input is a typed refusal', async () => {
  const member = await ledger.openAccount({ type: 'member', currency: 'CNY' });
  assert.ok(member.ok);
  assert.equal(member.account.floor, 0n);
  assert.equal(member.account.available, 0n);
  const again = await ledger.openAccount({ type: 'internal', currency: 'CNY', code: 'bank:CNY' });
  assert.ok(again.ok && !again.created && again.account.id === bank);
  assert.deepEqual(await ledger.openAccount({ type: 'member', currency: 'CNY', code: 'bank:CNY' }), { ok: false, error: 'code_conflict' });
  assert.deepEqual(await ledger.openAccount({ type: 'member', currency: 'cny' }), { ok: false, error: 'invalid_account' });
  assert.deepEqual(await ledger.openAccount({ type: 'member', currency: 'CNY', floor: 5n }), { ok: false, error: 'invalid_account' });
  assert.equal(await ledger.getAccount('not-an-id'), undefined);
});

test('post: balances, repeat returns the first result, other content under the key is refused', async () => {
  const a = await funded(1_000n);
  const b = await open(ledger, { type: 'member', currency: 'CNY' });
  const voucher = { source: 'trade', reference: 'T1', currency: 'CNY', entries: [{ accountId: a, amount: -300n }, { accountId: b, amount: 300n }] };
  const first = await ledger.post(voucher);
  assert.ok(first.ok && !first.replayed);
  const repeat = await ledger.post(voucher);
  assert.deepEqual(repeat, { ok: true, voucherId: first.voucherId, replayed: true });
  assert.deepEqual(await ledger.post({ ...voucher, entries: [{ accountId: a, amount: -301n }, { accountId: b, amount: 301n }] }), { ok: false, error: 'duplicate_conflict' });
  assert.equal((await ledger.balance(a))!.available, 700n);
  assert.equal((await ledger.balance(b))!.posted, 300n);
  // Concurrent repeats of one new key: exactly one posting.
  const key = { ...voucher, reference: 'T2' };
  const results = await Promise.all(Array.from({ length: 10 }, () => ledger.post(key)));
  assert.ok(results.every((r) => r.ok));
  assert.equal(new Set(results.map((r) => (r.ok ? r.voucherId : ''))).size, 1);
  assert.equal(results.filter((r) => r.ok && !r.replayed).length, 1);
  assert.equal((await ledger.balance(a))!.available, 400n);
  await assertBalanced();
});

test('post: two engines (processes) racing on the same new keys post each exactly once', async () => {
  const other = fixture.another();
  const a = await funded(10_000n);
  const b = await open(ledger, { type: 'member', currency: 'CNY' });
  const vouchers = Array.from({ length: 40 }, (_, i) => ({ source: 'race', reference: `K${i}`, currency: 'CNY', entries: [{ accountId: a, amount: -10n }, { accountId: b, amount: 10n }] }));
  const results = await Promise.all(vouchers.flatMap((v) => [ledger.post(v), other.post(v)]));
  assert.ok(results.every((r) => r.ok));
  for (let i = 0; i < 40; i += 1) {
    const [x, y] = [results[2 * i]!, results[2 * i + 1]!];
    assert.ok(x.ok && y.ok && x.voucherId === y.voucherId && x.replayed !== y.replayed);
  }
  assert.equal((await ledger.balance(a))!.posted, 10_000n - 400n);
  await assertBalanced();
});

test('post: refusals are values and fail alone in their batch', async () => {
  const a = await funded(100n);
  const b = await open(ledger, { type: 'member', currency: 'CNY' });
  const usd = await open(ledger, { type: 'member', currency: 'USD' });
  const missing = '01890000-0000-7000-8000-000000000000';
  const results = await Promise.all([
    ledger.post({ source: 't', reference: 'R1', currency: 'CNY', entries: [{ accountId: a, amount: -101n }, { accountId: b, amount: 101n }] }),
    ledger.post({ source: 't', reference: 'R2', currency: 'CNY', entries: [{ accountId: a, amount: -60n }, { accountId: b, amount: 60n }] }),
    ledger.post({ source: 't', reference: 'R3', currency: 'CNY', entries: [{ accountId: a, amount: -60n }, { accountId: b, amount: 60n }] }),
    ledger.post({ source: 't', reference: 'R4', currency: 'CNY', entries: [{ accountId: missing, amount: -1n }, { accountId: b, amount: 1n }] }),
    ledger.post({ source: 't', reference: 'R5', currency: 'CNY', entries: [{ accountId: a, amount: -1n }, { accountId: usd, amount: 1n }] }),
    ledger.post({ source: 't', reference: 'R6', currency: 'CNY', entries: [{ accountId: a, amount: -1n }, { accountId: b, amount: 2n }] }),
    ledger.post({ source: 't', reference: 'R7', currency: 'CNY', entries: [{ accountId: a, amount: 0n }, { accountId: b, amount: 0n }] }),
  ]);
  assert.deepEqual(results[0], { ok: false, error: 'insufficient_funds', accountId: a });
  assert.equal(results[1]!.ok, true);
  assert.deepEqual(results[2], { ok: false, error: 'insufficient_funds', accountId: a });
  assert.deepEqual(results[3], { ok: false, error: 'unknown_account', accountId: missing });
  assert.deepEqual(results[4], { ok: false, error: 'currency_mismatch', accountId: usd });
  assert.deepEqual(results[5], { ok: false, error: 'unbalanced' });
  assert.deepEqual(results[6], { ok: false, error: 'invalid_voucher' });
  assert.equal((await ledger.balance(a))!.available, 40n);
  await assertBalanced();
});

test('overdraft floor: an account may go down to -overdraft and no further', async () => {
  const credit = await open(ledger, { type: 'member', currency: 'CNY', floor: -500n });
  const out = await open(ledger, { type: 'internal', currency: 'CNY' });
  const post = (reference: string, amount: bigint) =>
    ledger.post({ source: 't', reference, currency: 'CNY', entries: [{ accountId: credit, amount: -amount }, { accountId: out, amount }] });
  assert.equal((await post('OD1', 400n)).ok, true);
  assert.deepEqual(await post('OD2', 101n), { ok: false, error: 'insufficient_funds', accountId: credit });
  assert.equal((await post('OD3', 100n)).ok, true);
  assert.equal((await ledger.balance(credit))!.posted, -500n);
  await assertBalanced();
});

test('holds: freeze, partial and complete post, release, expiry, idempotent throughout', async () => {
  const payer = await funded(1_000n);
  const payee = await open(ledger, { type: 'merchant', currency: 'CNY' });
  const hold = { source: 'payment', reference: 'P1' };
  const frozen = await ledger.freeze({ ...hold, accountId: payer, currency: 'CNY', amount: 600n });
  assert.ok(frozen.ok && !frozen.replayed);
  assert.deepEqual(await ledger.freeze({ ...hold, accountId: payer, currency: 'CNY', amount: 600n }), { ok: true, holdId: frozen.holdId, replayed: true });
  assert.deepEqual(await ledger.freeze({ ...hold, accountId: payer, currency: 'CNY', amount: 601n }), { ok: false, error: 'duplicate_conflict' });
  assert.deepEqual(await ledger.balance(payer), { posted: 1_000n, frozen: 600n, available: 400n, currency: 'CNY' });
  assert.deepEqual(await ledger.freeze({ source: 'payment', reference: 'P-big', accountId: payer, currency: 'CNY', amount: 401n }), { ok: false, error: 'insufficient_funds' });
  // Frozen money cannot be spent by a plain posting.
  const spend = await ledger.post({ source: 't', reference: 'H-spend', currency: 'CNY', entries: [{ accountId: payer, amount: -401n }, { accountId: payee, amount: 401n }] });
  assert.equal(spend.ok, false);

  const partial = { hold, source: 'payment', reference: 'P1:capture-1', currency: 'CNY', to: [{ accountId: payee, amount: 200n }], complete: false };
  const first = await ledger.postFromHold(partial);
  assert.ok(first.ok);
  assert.deepEqual(await ledger.postFromHold(partial), { ok: true, voucherId: first.voucherId, replayed: true });
  assert.equal((await ledger.getHold(hold))!.remaining, 400n);
  assert.deepEqual(await ledger.postFromHold({ ...partial, reference: 'P1:too-much', to: [{ accountId: payee, amount: 401n }] }), { ok: false, error: 'hold_insufficient' });
  const last = await ledger.postFromHold({ ...partial, reference: 'P1:capture-2', to: [{ accountId: payee, amount: 100n }], complete: true });
  assert.ok(last.ok);
  const closed = await ledger.getHold(hold);
  assert.equal(closed!.status, 'posted');
  assert.equal(closed!.remaining, 0n);
  assert.deepEqual(await ledger.balance(payer), { posted: 700n, frozen: 0n, available: 700n, currency: 'CNY' });
  assert.equal((await ledger.balance(payee))!.posted, 300n);
  assert.deepEqual(await ledger.release(hold), { ok: false, error: 'hold_already_posted' });
  assert.deepEqual(await ledger.postFromHold({ ...partial, reference: 'P1:after' }), { ok: false, error: 'hold_not_held' });
  assert.deepEqual(await ledger.postFromHold({ ...partial, hold: { source: 'payment', reference: 'nope' }, reference: 'x' }), { ok: false, error: 'hold_not_found' });

  // Release, twice.
  const h2 = { source: 'payment', reference: 'P2' };
  assert.ok((await ledger.freeze({ ...h2, accountId: payer, currency: 'CNY', amount: 100n })).ok);
  const released = await ledger.release(h2);
  assert.ok(released.ok && released.status === 'released' && !released.replayed);
  const again = await ledger.release(h2);
  assert.ok(again.ok && again.replayed && again.status === 'released');
  assert.equal((await ledger.balance(payer))!.frozen, 0n);

  // Expiry: the worker's step releases holds past expiresAt, by the injected clock.
  const h3 = { source: 'payment', reference: 'P3' };
  assert.ok((await ledger.freeze({ ...h3, accountId: payer, currency: 'CNY', amount: 50n, expiresAt: new Date(clock.now().getTime() + 60_000) })).ok);
  assert.equal(await ledger.releaseExpiredHolds(), 0);
  clock.advance(61_000);
  assert.equal(await ledger.releaseExpiredHolds(), 1);
  assert.equal((await ledger.getHold(h3))!.status, 'released');
  assert.equal((await ledger.balance(payer))!.frozen, 0n);
  await assertBalanced();
});

test('post from a hold with other debits: one voucher, their floors checked, all or nothing', async () => {
  const buyer = await funded(1_000n);
  const issuer = await funded(50n); // a coupon issuer's account, with a floor of 0
  const seller = await open(ledger, { type: 'merchant', currency: 'CNY' });
  const hold = { source: 'payment', reference: 'PX1' };
  assert.ok((await ledger.freeze({ ...hold, accountId: buyer, currency: 'CNY', amount: 300n })).ok);
  // The issuer cannot give 60: nothing moves, the hold stays whole.
  const short = await ledger.postFromHold({ hold, source: 'payment', reference: 'PX1:short', currency: 'CNY', to: [{ accountId: issuer, amount: -60n }, { accountId: seller, amount: 360n }] });
  assert.deepEqual(short, { ok: false, error: 'insufficient_funds', accountId: issuer });
  assert.equal((await ledger.getHold(hold))!.remaining, 300n);
  // The lines must leave something to take from the hold.
  assert.deepEqual(
    await ledger.postFromHold({ hold, source: 'payment', reference: 'PX1:nothing', currency: 'CNY', to: [{ accountId: issuer, amount: -50n }, { accountId: seller, amount: 50n }] }),
    { ok: false, error: 'invalid_voucher' },
  );
  const posted = await ledger.postFromHold({ hold, source: 'payment', reference: 'PX1:capture', currency: 'CNY', to: [{ accountId: issuer, amount: -50n }, { accountId: seller, amount: 350n }] });
  assert.ok(posted.ok && !posted.replayed);
  const voucher = await ledger.getVoucher(posted.voucherId);
  assert.equal(voucher!.entries.length, 3);
  assert.deepEqual(await ledger.balance(buyer), { posted: 700n, frozen: 0n, available: 700n, currency: 'CNY' });
  assert.equal((await ledger.balance(issuer))!.posted, 0n);
  assert.equal((await ledger.balance(seller))!.posted, 350n);
  assert.equal((await ledger.getHold(hold))!.status, 'posted');
  await assertBalanced();
});

test('TCC fence: a release before its freeze leaves a tombstone that refuses the late freeze', async () => {
  const payer = await funded(100n);
  const key = { source: 'trade', reference: 'TCC-1' };
  const empty = await ledger.release(key);
  assert.ok(empty.ok && empty.status === 'cancelled_before_try' && !empty.replayed);
  const repeat = await ledger.release(key);
  assert.ok(repeat.ok && repeat.status === 'cancelled_before_try' && repeat.replayed);
  assert.deepEqual(await ledger.freeze({ ...key, accountId: payer, currency: 'CNY', amount: 10n }), { ok: false, error: 'hold_cancelled' });
  assert.equal((await ledger.balance(payer))!.frozen, 0n);
  // Racing release and freeze of one key: either the hold is released or the freeze refused; nothing stays frozen.
  for (let i = 0; i < 10; i += 1) {
    const race = { source: 'trade', reference: `TCC-race-${i}` };
    await Promise.all([ledger.freeze({ ...race, accountId: payer, currency: 'CNY', amount: 10n }), ledger.release(race)]);
    const hold = await ledger.getHold(race);
    assert.ok(hold && hold.status !== 'held', `race ${i}: ${hold?.status}`);
  }
  await assertBalanced();
});

test('reverse: a reversing voucher restores balances, once', async () => {
  const a = await funded(500n);
  const b = await open(ledger, { type: 'member', currency: 'CNY' });
  const posted = await ledger.post({ source: 't', reference: 'REV-1', currency: 'CNY', entries: [{ accountId: a, amount: -200n }, { accountId: b, amount: 200n }] });
  assert.ok(posted.ok);
  const reversal = await ledger.reverse(posted.voucherId);
  assert.ok(reversal.ok && !reversal.replayed);
  assert.deepEqual(await ledger.reverse(posted.voucherId), { ok: true, voucherId: reversal.voucherId, replayed: true });
  assert.deepEqual(await ledger.reverse(posted.voucherId, { source: 'ops', reference: 'second' }), { ok: false, error: 'already_reversed' });
  assert.deepEqual(await ledger.reverse('01890000-0000-7000-8000-000000000001'), { ok: false, error: 'voucher_not_found' });
  assert.equal((await ledger.balance(a))!.posted, 500n);
  assert.equal((await ledger.balance(b))!.posted, 0n);
  const stored = await ledger.getVoucher(reversal.voucherId);
  assert.equal(stored!.reversalOf, posted.voucherId);
  // A reversal that would take a member below its floor is refused like any posting.
  const c = await funded(100n);
  const d = await open(ledger, { type: 'member', currency: 'CNY' });
  const pay = await ledger.post({ source: 't', reference: 'REV-2', currency: 'CNY', entries: [{ accountId: c, amount: -100n }, { accountId: d, amount: 100n }] });
  assert.ok(pay.ok);
  const spent = await ledger.post({ source: 't', reference: 'REV-3', currency: 'CNY', entries: [{ accountId: d, amount: -100n }, { accountId: c, amount: 100n }] });
  assert.ok(spent.ok);
  assert.deepEqual(await ledger.reverse(pay.voucherId), { ok: false, error: 'insufficient_funds', accountId: d });
  await assertBalanced();
});

test('statement pages newest first with balance_after; daily balance per accounting day', async () => {
  const a = await open(ledger, { type: 'member', currency: 'CNY' });
  clock.set(new Date('2026-03-05T12:00:00Z'));
  for (let i = 1; i <= 5; i += 1) {
    const r = await ledger.post({ source: 't', reference: `ST-${i}`, currency: 'CNY', entries: [{ accountId: bank, amount: -BigInt(i * 10) }, { accountId: a, amount: BigInt(i * 10) }] });
    assert.ok(r.ok);
  }
  clock.set(new Date('2026-03-06T12:00:00Z'));
  const out = await open(ledger, { type: 'internal', currency: 'CNY' });
  assert.ok((await ledger.post({ source: 't', reference: 'ST-6', currency: 'CNY', entries: [{ accountId: a, amount: -25n }, { accountId: out, amount: 25n }] })).ok);
  const page1 = await ledger.statement(a, { limit: 4 });
  assert.deepEqual(page1!.lines.map((l) => [l.amount, l.balanceAfter]), [[-25n, 125n], [50n, 150n], [40n, 100n], [30n, 60n]]);
  const page2 = await ledger.statement(a, { limit: 4, after: page1!.nextCursor });
  assert.deepEqual(page2!.lines.map((l) => l.balanceAfter), [30n, 10n]);
  assert.equal(page2!.nextCursor, undefined);
  assert.deepEqual(await ledger.dailyBalance(a, '2026-03-05'), { accountId: a, date: '2026-03-05', opening: 0n, debits: 0n, credits: 150n, closing: 150n });
  assert.deepEqual(await ledger.dailyBalance(a, '2026-03-06'), { accountId: a, date: '2026-03-06', opening: 150n, debits: 25n, credits: 0n, closing: 125n });
  // A closed day is kept.
  const kept = await fixture.pool.query('select closing from ledger.daily_balance where account_id = $1', [a]);
  assert.deepEqual(kept.rows.map((r) => r.closing), [150n]);
});

test('inTransaction: the same operations commit or roll back with the caller', async () => {
  const a = await funded(300n);
  const b = await open(ledger, { type: 'member', currency: 'CNY' });
  await fixture.db.transaction().execute(async (trx) => {
    const ops = ledger.inTransaction(trx);
    assert.ok((await ops.freeze({ source: 'pay', reference: 'IT-1', accountId: a, currency: 'CNY', amount: 100n })).ok);
    assert.ok((await ops.post({ source: 'pay', reference: 'IT-2', currency: 'CNY', entries: [{ accountId: a, amount: -50n }, { accountId: b, amount: 50n }] })).ok);
    assert.ok((await ops.postFromHold({ hold: { source: 'pay', reference: 'IT-1' }, source: 'pay', reference: 'IT-3', currency: 'CNY', to: [{ accountId: b, amount: 100n }] })).ok);
  });
  assert.deepEqual(await ledger.balance(a), { posted: 150n, frozen: 0n, available: 150n, currency: 'CNY' });
  await assert.rejects(
    fixture.db.transaction().execute(async (trx) => {
      assert.ok((await ledger.inTransaction(trx).post({ source: 'pay', reference: 'IT-4', currency: 'CNY', entries: [{ accountId: a, amount: -150n }, { accountId: b, amount: 150n }] })).ok);
      throw new Error('the caller gives up');
    }),
    /gives up/,
  );
  assert.equal((await ledger.balance(a))!.posted, 150n);
  assert.equal((await ledger.post({ source: 'pay', reference: 'IT-4', currency: 'CNY', entries: [{ accountId: a, amount: -150n }, { accountId: b, amount: 150n }] })).ok, true);
  await assertBalanced();
});
