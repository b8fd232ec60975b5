/**
 * `npm run bench:pay`: instant trades created and paid with the balance over HTTP — a real
 * listening server on 127.0.0.1, a fixed number of concurrent callers (in a process of their own), each payment being
 * POST /v1/trades then POST /v1/trades/{id}/pay — against pgbench's tpcb-like measured in the same
 * run on the same PostgreSQL. A fresh embedded cluster with durable settings, or BENCH_DATABASE_URL.
 * Knobs: BENCH_PAY_S (default 20), BENCH_PGBENCH_S (20), BENCH_CONCURRENCY (32), BENCH_BUYERS (400),
 * BENCH_SELLERS (50), BENCH_WORKERS (on). The last line printed is one JSON object with the figures.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { Databases, createLogger, ensureDatabase, loadConfig, newId, withDatabaseName } from '../src/platform/index.js';
import { createRuntime, type Runtime } from '../src/runtime/index.js';
import { benchCluster, freePort, percentile, pgbenchTps } from './support/pgbench.js';

const paySeconds = Number(process.env.BENCH_PAY_S ?? 20);
const pgbenchSeconds = Number(process.env.BENCH_PGBENCH_S ?? 20);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const buyerCount = Number(process.env.BENCH_BUYERS ?? 400);
const sellerCount = Number(process.env.BENCH_SELLERS ?? 50);
const warmupSeconds = 3;
const run = promisify(execFile);

interface Seeded {
  readonly key: string;
  readonly buyers: string[];
  readonly sellers: string[];
}

/** One API client; buyers with plenty of money and sellers, made through the member service. */
async function seed(runtime: Runtime): Promise<Seeded> {
  const client = await runtime.clients.create({ name: 'bench' });
  const ctx = { client: client.id, traceId: newId() };
  const funding = await runtime.ledger.openAccount({ type: 'platform', currency: 'CNY', code: 'bench:funding:CNY', floor: null });
  assert.ok(funding.ok);
  const buyers: string[] = [];
  const sellers: string[] = [];
  for (let i = 0; i < buyerCount; i += 1) {
    const member = await runtime.members.create(ctx, { type: 'personal', name: `buyer ${i}` });
    const posted = await runtime.ledger.post({ source: 'bench', reference: `fund-${member.id}`, currency: 'CNY', entries: [{ accountId: funding.account.id, amount: -10_000_000_000n }, { accountId: member.accountId, amount: 10_000_000_000n }] });
    assert.ok(posted.ok);
    buyers.push(member.id);
  }
  for (let i = 0; i < sellerCount; i += 1) sellers.push((await runtime.members.create(ctx, { type: 'merchant', name: `seller ${i}` })).id);
  return { key: client.api_key, buyers, sellers };
}

interface Phase {
  payments: number;
  failures: number;
  latenciesMs: number[];
  payLatenciesMs: number[];
  seconds: number;
}

/** The load generator runs in a process of its own (bench/support/pay-load.ts), as pgbench does. */
async function load(port: number, seeded: Seeded, seconds: number): Promise<Phase> {
  const input = JSON.stringify({ port, key: seeded.key, buyers: seeded.buyers, sellers: seeded.sellers, concurrency, seconds });
  const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'pay-load.ts'), input], { maxBuffer: 1 << 28 });
  const parsed = JSON.parse(stdout.trim().split('\n').pop()!) as Omit<Phase, 'seconds'> & { firstFailure?: unknown };
  if (parsed.firstFailure) process.stdout.write(`# first failure: ${JSON.stringify(parsed.firstFailure)}\n`);
  return { ...parsed, seconds };
}

async function main(): Promise<void> {
  const { url, stop } = await benchCluster('paybench');
  const payUrl = withDatabaseName(url, `bench_pay_${Date.now()}`);
  let runtime: Runtime | undefined;
  let databases: Databases | undefined;
  try {
    const pgbenchUrl = withDatabaseName(url, 'bench_pgbench');
    await ensureDatabase(pgbenchUrl);
    process.stdout.write(`# pgbench tpcb-like: -i -s 10, then -c 8 -j 2 -T ${pgbenchSeconds}\n`);
    const tps = process.env.BENCH_PGBENCH_TPS ? Number(process.env.BENCH_PGBENCH_TPS) : await pgbenchTps(pgbenchUrl, pgbenchSeconds);
    process.stdout.write(`pgbench_tps ${tps.toFixed(0)}\n`);

    await ensureDatabase(payUrl);
    const port = await freePort();
    // The bench client is one business system at full speed: its rate limits are lifted, nothing else changes.
    const config = loadConfig({ LOG_LEVEL: 'warn' }, { databaseUrl: payUrl, port, rateLimitPerSecond: 1_000_000, rateLimitConcurrency: 100_000 });
    databases = new Databases({ main: payUrl, perSubsystem: {} }, config.dbPoolMax);
    await databases.migrate();
    runtime = await createRuntime({ config, logger: createLogger('warn'), databases });
    await runtime.http.listen({ port, host: '127.0.0.1' });
    // The background workers (event relay and consumers, ledger folder, recovery) run as in production; BENCH_WORKERS=off is for diagnosis only.
    if (process.env.BENCH_WORKERS !== 'off') runtime.startWorkers();
    const seeded = await seed(runtime);
    process.stdout.write(`# ${buyerCount} buyers, ${sellerCount} sellers; ${concurrency} concurrent callers over HTTP (keep-alive, from a separate process) on 127.0.0.1:${port}; pool ${config.dbPoolMax}\n`);
    await load(port, seeded, warmupSeconds);
    const cpuBefore = process.cpuUsage();
    const phase = await load(port, seeded, paySeconds);
    const cpu = process.cpuUsage(cpuBefore);
    const cpuPerPaymentMs = phase.payments > 0 ? (cpu.user + cpu.system) / 1000 / phase.payments : 0;
    const perSecond = phase.payments / phase.seconds;
    const all = [...phase.latenciesMs].sort((a, b) => a - b);
    const pays = [...phase.payLatenciesMs].sort((a, b) => a - b);
    const p50 = percentile(all, 50);
    const p99 = percentile(all, 99);
    process.stdout.write(`payments_per_s ${perSecond.toFixed(0)} (${(perSecond / tps).toFixed(2)}x pgbench) failures ${phase.failures}\n`);
    process.stdout.write(`# Paycore process CPU per payment ${cpuPerPaymentMs.toFixed(2)} ms (user+system, both requests, its workers included; PostgreSQL and the load generator not counted)\n`);
    process.stdout.write(`payment (create + pay) p50 ${p50.toFixed(2)} ms p99 ${p99.toFixed(2)} ms; pay request alone p50 ${percentile(pays, 50).toFixed(2)} ms p99 ${percentile(pays, 99).toFixed(2)} ms\n`);
    await runtime.ledger.fold();
    const check = await runtime.ledger.check();
    process.stdout.write(`# ledger check after the run: balanced=${check.balanced} negative=${check.negative_accounts.length} frozen_mismatches=${check.frozen_mismatches.length}\n`);
    process.stdout.write(`# nproc ${os.cpus().length}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    process.stdout.write(JSON.stringify({ pgbench_tps: Math.round(tps), payments_per_s: Math.round(perSecond), p50_ms: Number(p50.toFixed(2)), p99_ms: Number(p99.toFixed(2)) }) + '\n');
  } finally {
    if (runtime) {
      await runtime.stopWorkers();
      await runtime.http.close();
    }
    await databases?.close();
    if (!stop) {
      const admin = new pg.Client({ connectionString: withDatabaseName(url, 'postgres') });
      await admin.connect();
      await admin.query(`drop database if exists "${new URL(payUrl).pathname.slice(1)}" with (force)`);
      await admin.end();
    }
    await stop?.();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
