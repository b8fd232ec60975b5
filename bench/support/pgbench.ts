/**
 * Shared bench helpers: pgbench's tpcb-like on a database as the reference figure, free ports,
 * percentiles. Used by every bench/*.bench.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
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
