/**
 * Accounting over a simulated week: a handful of postings a day straight through the ledger (with
 * a manual clock, so each lands on its own accounting day), T+1 merchant settlement against the
 * fee schedule, and a day close each day whose trial balance must balance and never change again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLedger, type Ledger } from '../../src/ledger/index.js';
import { createFunds, feeOf, type Funds, type MerchantSettlementRow } from '../../src/funds/index.js';
import { ManualClock, createLogger, newId } from '../../src/platform/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { childEnv, spawnPaycore } from '../support/process.js';

let platform: TestPlatform;
let ledger: Ledger;
let funds: Funds;
const clock = new ManualClock(Date.UTC(2026, 2, 2, 10));
const ids: Record<string, string> = {};
const day0 = Date.UTC(2026, 2, 2);
const dayOf = (k: number) => new Date(day0 + k * 86_400_000).toISOString().slice(0, 10);
const at = (k: number, hour: number) => clock.set(new Date(day0 + k * 86_400_000 + hour * 3_600_000));

async function open(name: string, input: Parameters<Ledger['openAccount']>[0]): Promise<void> {
  const result = await ledger.openAccount(input);
  assert.ok(result.ok);
  ids[name] = result.account.id;
}

let posted = 0;
async function post(lines: Array<[string, bigint]>): Promise<void> {
  posted += 1;
  const result = await ledger.post({ source: 'test.week', reference: `${posted}-${newId()}`, currency: 'CNY', entries: lines.map(([name, amount]) => ({ accountId: ids[name]!, amount })) });
  assert.ok(result.ok, JSON.stringify(result));
}

before(async () => {
  platform = await startTestPlatform({ label: 'fundsacct' });
  const logger = createLogger('silent');
  ledger = createLedger({ db: platform.databases.get('ledger'), pool: platform.databases.pool('ledger'), clock, logger });
  funds = createFunds({ db: platform.databases.get('funds'), ledger, channel: () => platform.runtime.channel, config: { ...platform.config, funds: { ...platform.config.funds, glGapWaitMs: 0 } }, clock, logger });
  await open('alpha', { type: 'internal', currency: 'CNY', code: 'channel:alpha:CNY', floor: null, hot: 'buffered' });
  await open('beta', { type: 'internal', currency: 'CNY', code: 'channel:beta:CNY', floor: null, hot: 'buffered' });
  await open('marketing', { type: 'platform', currency: 'CNY', code: 'platform:marketing:CNY', floor: null });
  await open('issued', { type: 'platform', currency: 'CNY', code: 'platform:marketing-issued:CNY', floor: 0n });
  await open('escrow', { type: 'platform', currency: 'CNY', code: 'platform:escrow:CNY', floor: 0n });
  await open('member', { type: 'member', currency: 'CNY', code: `member:m1-${newId()}:CNY`, owner: 'm1' });
  for (const m of ['A', 'B', 'C']) await open(m, { type: 'merchant', currency: 'CNY', code: `member:${m}-${newId()}:CNY`, owner: `merchant-${m}` });
  await funds.settlement.setFeeRate('merchant-A', 38);
  await funds.settlement.setFeeRate('merchant-C', 50);
});

after(async () => {
  await ledger.close();
  await platform.close();
});

test('a simulated week closes every day balanced; settlements match the fee schedule to the cent; closed days never change', async () => {
  const expectedGross: Record<string, bigint[]> = { A: [], B: [], C: [] };
  const closed: Record<string, unknown> = {};
  let feesTotal = 0n;
  for (let k = 0; k < 7; k += 1) {
    at(k, 1);
    if (k > 0) {
      // T+1: at the settlement time (02:00 UTC) the schedule pays yesterday's merchant money out, net of fees.
      await funds.settlement.scheduled();
      assert.ok((await ledger.balance(ids.A!))!.posted > 0n, 'nothing settled before the settlement time');
      at(k, 3);
      await funds.settlement.scheduled();
      assert.equal((await ledger.balance(ids.A!))!.posted, 0n, 'the schedule settled yesterday');
      const settled = await funds.settlement.settle(dayOf(k - 1)); // already settled: this only reads
      assert.ok(settled.ok);
      const rates: Record<string, number> = { 'merchant-A': 38, 'merchant-B': 60, 'merchant-C': 50 };
      for (const m of ['A', 'B', 'C']) {
        const row: MerchantSettlementRow | undefined = settled.settlements.find((s: MerchantSettlementRow) => s.merchant_id === `merchant-${m}`);
        const gross = expectedGross[m]![k - 1]!;
        assert.ok(row, `settlement of ${m} for ${dayOf(k - 1)}`);
        assert.equal(row.gross, gross, `gross of ${m}`);
        // The fee schedule: rate × gross, half a cent and more rounds up (written differently from feeOf on purpose).
        const product = gross * BigInt(rates[`merchant-${m}`]!);
        const fee = product / 10_000n + (product % 10_000n >= 5_000n ? 1n : 0n);
        assert.equal(row.fee, fee, `fee of ${m} on ${gross}`);
        assert.equal(row.net, gross - fee);
        assert.equal(row.status, 'posted');
        feesTotal += fee;
        assert.equal((await ledger.balance(ids[m]!))!.posted, 0n, `${m} paid out in full`);
      }
      const again = await funds.settlement.settle(dayOf(k - 1));
      assert.ok(again.ok);
      assert.equal(again.settlements.length, 3, 'settling a day twice settles nothing more');
    }
    at(k, 10);
    const cardPay = 1_234n + BigInt(k) * 101n;
    const balancePay = 777n + BigInt(k);
    const small = k % 2 === 0 ? 100n : 300n; // C's fees land on exact half cents: 0.50 → 1, 1.50 → 2
    await post([['beta', -5_000n], ['member', 5_000n]]); // card recharge via beta
    await post([['alpha', -cardPay], ['A', cardPay]]); // card payment to A
    await post([['member', -balancePay], ['B', balancePay]]); // balance payment to B
    await post([['marketing', -500n], ['issued', 500n]]); // a coupon issued
    await post([['issued', -500n], ['member', -1_000n], ['A', 1_500n]]); // paid with coupon + balance
    await post([['member', -small], ['C', small]]);
    let refund = 0n;
    if (k % 2 === 1) {
      refund = 300n;
      await post([['A', -refund], ['alpha', refund]]); // a card refund from A
    }
    expectedGross.A!.push(cardPay + 1_500n - refund);
    expectedGross.B!.push(balancePay);
    expectedGross.C!.push(small);

    at(k + 1, 0);
    const result = await funds.accounting.closeDay(dayOf(k), 'test');
    assert.ok(result.ok, JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    const tb = result.trialBalance;
    const cny = tb.currencies.CNY!;
    assert.ok(tb.balanced && cny.balanced, `day ${dayOf(k)} balances`);
    assert.equal(cny.debits, cny.credits);
    assert.equal(cny.closingSum, 0n);
    assert.equal(cny.lines.find((l) => l.subject === '6601')?.closing, -500n * BigInt(k + 1), 'marketing expense accumulates');
    const sheet = await funds.accounting.balanceSheet(dayOf(k));
    assert.ok(sheet.final && sheet.currencies.CNY!.balanced);
    const income = await funds.accounting.incomeStatement(dayOf(k));
    const feesToday = income.currencies.CNY!.lines.find((l) => l.subject === '6001')?.amount ?? 0n;
    assert.equal(income.currencies.CNY!.expenses, 500n, 'one coupon a day is marketing expense');
    assert.equal(income.currencies.CNY!.net, feesToday - 500n);
    closed[dayOf(k)] = tb;
  }
  assert.equal((await ledger.balance((await ledger.getAccountByCode('platform:fees:CNY'))!.id))!.posted, feesTotal);
  assert.equal(feeOf(100n, 50), 1n);
  assert.equal(feeOf(300n, 50), 2n);
  assert.equal(feeOf(299n, 50), 1n);

  // A late posting dated on a closed day counts in the first open day; closed days stay as they were.
  at(3, 12);
  await post([['alpha', -999n], ['A', 999n]]);
  at(7, 2);
  await funds.feed.catchUp();
  for (const [date, tb] of Object.entries(closed)) assert.deepEqual(await funds.accounting.trialBalance(date), tb, `${date} unchanged`);
  const open = await funds.accounting.trialBalance(dayOf(7));
  assert.equal(open.final, false);
  assert.equal(open.currencies.CNY!.lines.find((l) => l.subject === '2202')!.credits, 999n, 'the late posting is in the first open day');
  assert.ok(open.balanced);

  // Refusals: today is not over; an unclosed day before the last closed one; a day with an earlier open day.
  assert.deepEqual(await funds.accounting.closeDay(dayOf(7), 'test'), { ok: false, error: 'day_not_over' });
  assert.equal(((await funds.accounting.closeDay(dayOf(-1), 'test')) as { error: string }).error, 'already_closed');
  const replay = await funds.accounting.closeDay(dayOf(6), 'test');
  assert.ok(replay.ok && replay.replayed);
  at(9, 2);
  assert.deepEqual(await funds.accounting.closeDay(dayOf(8), 'test'), { ok: false, error: 'earlier_day_open', date: dayOf(7) });
  const check = await ledger.check();
  assert.ok(check.balanced);
});

test('trial balance over HTTP (operator auth, schema) and the CLI report agree with the service', async () => {
  const viewer = await platform.newOperator('viewer');
  const date = dayOf(2);
  const reply = await platform.runtime.http.inject({ method: 'GET', url: `/admin/funds/trial-balance?date=${date}`, headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(reply.statusCode, 200, reply.body);
  const body = JSON.parse(reply.body);
  assert.equal(body.final, true);
  assert.equal(body.currencies.CNY.closingSum, 0);
  assert.equal(body.currencies.CNY.debits, body.currencies.CNY.credits);
  const bad = await platform.runtime.http.inject({ method: 'GET', url: '/admin/funds/trial-balance?date=2026-13-01', headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(bad.statusCode, 400);
  const anonymous = await platform.runtime.http.inject({ method: 'GET', url: `/admin/funds/trial-balance?date=${date}` });
  assert.equal(anonymous.statusCode, 401);
  const gl = await platform.runtime.http.inject({ method: 'GET', url: `/admin/funds/general-ledger?date=${date}&subject=2202&limit=100`, headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(gl.statusCode, 200, gl.body);
  const glLines = JSON.parse(gl.body).data as Array<{ amount: number; subject: string }>;
  const merchants = body.currencies.CNY.lines.find((l: { subject: string }) => l.subject === '2202');
  assert.equal(glLines.filter((l) => l.amount > 0).reduce((s, l) => s + l.amount, 0), merchants.credits, 'the GL lines add up to the trial balance');
  assert.equal(-glLines.filter((l) => l.amount < 0).reduce((s, l) => s + l.amount, 0), merchants.debits);
  const chart = await platform.runtime.http.inject({ method: 'GET', url: '/admin/funds/subjects', headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(JSON.parse(chart.body).by_type.merchant, '2202');
  const close = await platform.runtime.http.inject({ method: 'POST', url: '/admin/funds/day-close', headers: { authorization: `Bearer ${viewer.token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ date }) });
  assert.equal(close.statusCode, 403, 'a viewer may not close a day');

  const cli = spawnPaycore(['report', 'trial-balance', '--date', date, '--json'], childEnv({ DATABASE_URL: platform.config.databaseUrl! }));
  assert.equal(await cli.exited(), 0, cli.output());
  const printed = JSON.parse(cli.output().trim().split('\n').at(-1)!);
  assert.deepEqual(printed, body);
});
