/**
 * Crash test: a child process posts under load and is killed with SIGKILL at random moments.
 * Afterwards the check passes (buffered entries folded by the next process), every posting the
 * child acknowledged is in the ledger exactly once, and posting them again only replays them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Ledger } from '../../src/ledger/index.js';
import { repoRoot } from '../support/process.js';
import { open, startLedger, type LedgerFixture } from './ledger-support.js';

let fixture: LedgerFixture;
let ledger: Ledger;

before(async () => {
  fixture = await startLedger('crash');
  ledger = fixture.ledger;
});
after(async () => {
  await fixture?.close();
});

interface ChildRun {
  readonly lines: string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Runs the load child; kills it `killAfterMs` after it is ready (or lets it finish when undefined). */
function runChild(env: Record<string, string>, killAfterMs?: number): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'ledger', 'crash-load.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (killAfterMs !== undefined && text.includes('READY\n') && !child.killed) {
      setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      killAfterMs = undefined;
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      if (code !== 0 && signal !== 'SIGKILL') process.stderr.write(stderr);
      // A line cut by the kill is not an acknowledgement.
      const lines = text.split('\n');
      if (!text.endsWith('\n')) lines.pop();
      resolve({ lines: lines.filter(Boolean), code, signal });
    });
  });
}

test('SIGKILL at random moments: acknowledged postings exist exactly once and the ledger balances', async () => {
  const bank = await open(ledger, { type: 'internal', currency: 'CNY' });
  const members: string[] = [];
  for (let i = 0; i < 12; i += 1) members.push(await open(ledger, { type: 'member', currency: 'CNY' }));
  const buffered = await open(ledger, { type: 'platform', currency: 'CNY', hot: 'buffered' });
  const sub = await open(ledger, { type: 'merchant', currency: 'CNY', hot: 'sub_accounts', subCount: 4 });
  for (const id of [...members, sub]) {
    assert.ok((await ledger.post({ source: 'fund', reference: id, currency: 'CNY', entries: [{ accountId: bank, amount: -100_000n }, { accountId: id, amount: 100_000n }] })).ok);
  }
  const env = { CRASH_DB_URL: fixture.url, CRASH_ACCOUNTS: JSON.stringify({ members, buffered, sub, bank }) };

  const acknowledged: string[] = [];
  for (let round = 0; round < 3; round += 1) {
    const result = await runChild({ ...env, CRASH_RUN: `run${round}` }, 150 + Math.floor(Math.random() * 700));
    assert.equal(result.signal, 'SIGKILL');
    const acks = result.lines.filter((line) => line.startsWith('ACK ')).map((line) => line.slice(4));
    acknowledged.push(...acks);
  }
  assert.ok(acknowledged.length > 50, `the children acknowledged ${acknowledged.length} postings`);

  // What a killed child left buffered is folded by whoever runs next.
  while ((await ledger.fold()) > 0);
  const report = await ledger.check();
  assert.equal(report.balanced, true, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  const found = await fixture.pool.query<{ reference: string; n: string }>(
    `select reference, count(*) as n from ledger.voucher where source = 'crash' and reference = any($1::text[]) group by reference`,
    [acknowledged],
  );
  assert.equal(found.rows.length, new Set(acknowledged).size, 'every acknowledged posting is in the ledger');
  assert.ok(found.rows.every((row) => Number(row.n) === 1));

  // Posting the acknowledged ones again (a client retrying after the crash) only replays them.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-crash-')), 'refs.txt');
  fs.writeFileSync(file, acknowledged.join('\n') + '\n');
  const vouchersBefore = (await fixture.pool.query('select count(*) as n from ledger.voucher')).rows[0].n;
  const replay = await runChild({ ...env, CRASH_REPLAY: file });
  assert.equal(replay.code, 0);
  assert.equal(replay.lines.filter((line) => line.startsWith('REPLAYED ')).length, acknowledged.length);
  assert.equal((await fixture.pool.query('select count(*) as n from ledger.voucher')).rows[0].n, vouchersBefore);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});
