/**
 * The ledger's change feed (Ledger.vouchersAfter) and the GL feed over it: entries netted per
 * account with buffered ones included; a seq gap left by a posting still committing is waited for
 * (later vouchers are copied meanwhile) and a gap left by a rollback is passed after the wait.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createFunds } from '../../src/funds/index.js';
import { createLogger, newId } from '../../src/platform/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';

let platform: TestPlatform;
const accounts: string[] = [];

before(async () => {
  platform = await startTestPlatform({ label: 'fundsfeed' });
  const { ledger } = platform.runtime;
  for (const [code, hot] of [['channel:feed:CNY', 'buffered'], ['platform:capital:CNY', 'none'], ['platform:capital-2:CNY', 'none']] as const) {
    const opened = await ledger.openAccount({ type: code.startsWith('channel') ? 'internal' : 'platform', currency: 'CNY', code, floor: null, hot });
    assert.ok(opened.ok);
    accounts.push(opened.account.id);
  }
});

after(async () => {
  await platform.close();
});

// `other`: a second plain account, so a posting never waits on the row lock an open transaction holds.
const entries = (amount: bigint, other = false) => [
  { accountId: accounts[0]!, amount: -amount },
  { accountId: accounts[other ? 2 : 1]!, amount },
];

test('vouchersAfter: seq order, netted entries, buffered entries included, bounded', async () => {
  const { ledger } = platform.runtime;
  for (const amount of [100n, 200n, 300n]) assert.ok((await ledger.post({ source: 'test.feed', reference: newId(), currency: 'CNY', entries: entries(amount) })).ok);
  const all = await ledger.vouchersAfter(0n);
  assert.equal(all.length, 3);
  assert.deepEqual(all.map((v) => v.entries.find((e) => e.accountId === accounts[1])!.amount), [100n, 200n, 300n]);
  assert.ok(all.every((v, i) => i === 0 || v.seq > all[i - 1]!.seq));
  assert.ok(all.every((v) => v.entries.reduce((s, e) => s + e.amount, 0n) === 0n));
  assert.deepEqual((await ledger.vouchersAfter(all[0]!.seq, 1)).map((v) => v.id), [all[1]!.id]);
});

test('the GL feed waits for a voucher still committing, copies later ones meanwhile, and passes a rolled-back gap', async () => {
  const { ledger, config } = platform.runtime;
  const logger = createLogger('silent');
  const make = (gapWaitMs: number) => createFunds({ db: platform.databases.get('funds'), ledger, channel: () => platform.runtime.channel, config: { ...config, funds: { ...config.funds, glGapWaitMs: gapWaitMs } }, clock: platform.runtime.clock, logger });
  const patient = make(600_000);
  const fundsDb = platform.databases.get('funds');
  const cursor = async () => (await sql<{ seq: bigint }>`select seq from funds.gl_cursor`.execute(fundsDb)).rows[0]!.seq;
  const copied = async () => Number((await sql<{ n: bigint }>`select count(*) as n from funds.gl_voucher`.execute(fundsDb)).rows[0]!.n);
  await patient.feed.catchUp();
  const start = await cursor();
  assert.equal(await copied(), 3);

  // A posting inside an open transaction takes its seq now and commits later.
  const slow = await platform.databases.get('ledger').startTransaction().execute();
  assert.ok((await ledger.inTransaction(slow).post({ source: 'test.feed', reference: 'slow', currency: 'CNY', entries: entries(50n) })).ok);
  assert.ok((await ledger.post({ source: 'test.feed', reference: 'fast', currency: 'CNY', entries: entries(60n, true) })).ok);
  await patient.feed.pass();
  assert.equal(await copied(), 4, 'the later voucher is copied at once');
  assert.equal(await cursor(), start, 'the cursor waits before the gap');
  await slow.commit().execute();
  await patient.feed.pass();
  assert.equal(await copied(), 5, 'the late commit is copied');
  assert.equal(await cursor(), start + 2n);

  // A rolled-back posting leaves its seq unused for ever: passed once the wait is over.
  const rolled = await platform.databases.get('ledger').startTransaction().execute();
  assert.ok((await ledger.inTransaction(rolled).post({ source: 'test.feed', reference: 'rolled', currency: 'CNY', entries: entries(70n) })).ok);
  await rolled.rollback().execute();
  assert.ok((await ledger.post({ source: 'test.feed', reference: 'after', currency: 'CNY', entries: entries(80n, true) })).ok);
  await patient.feed.pass();
  assert.equal(await cursor(), start + 2n);
  const hasty = make(0);
  await hasty.feed.pass();
  assert.equal(await cursor(), start + 4n, 'the rolled-back seq is passed');
  assert.equal(await copied(), 6);
  const tb = await hasty.accounting.trialBalance(new Date().toISOString().slice(0, 10));
  assert.ok(tb.balanced);
  assert.equal(tb.currencies.CNY!.lines.find((l) => l.subject === '4001')!.credits, 100n + 200n + 300n + 50n + 60n + 80n, 'the rolled-back posting is nowhere');
});
