/**
 * `npm run bench:ledger`: the ledger's posting throughput against pgbench's tpcb-like on the same
 * PostgreSQL, in one run. A fresh embedded cluster with default (durable) settings, or
 * BENCH_DATABASE_URL. Phases are bounded in time (BENCH_PHASE_S, default 15 s). The last line
 * printed is one JSON object with the figures.
 */
import fs from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { createKysely, createLogger, createPool, ensureDatabase, withDatabaseName, type Kysely } from '../src/platform/index.js';
import { migrateSubsystem } from '../src/platform/db/migrator.js';
import { createLedger, type Ledger, type LedgerDB } from '../src/ledger/index.js';
import { benchCluster, percentile, runPgbench } from './support/pgbench.js';

const phaseMs = Number(process.env.BENCH_PHASE_S ?? 15) * 1000;
const callers = Number(process.env.BENCH_CALLERS ?? 16); // 16 is the benchmark; others only for experiments
const accountCount = 100_000;
const openingBalance = 1_000_000_000n;

async function pgbenchTps(url: string): Promise<number> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const cpuBefore = clusterCpuMs(postmasterPid);
  const backendsBefore = databaseCpuMs(postmasterPid, database);
  const result = await runPgbench(url, Number(process.env.BENCH_PGBENCH_S ?? 20));
  const cpuAfter = clusterCpuMs(postmasterPid);
  const backendsAfter = databaseCpuMs(postmasterPid, database);
  if (cpuBefore !== undefined && cpuAfter !== undefined) {
    const per = (ms: number): string => ((ms * 1000) / result.transactions).toFixed(0);
    process.stdout.write(`# pgbench: postgres CPU per transaction ${per(cpuAfter - cpuBefore)} us (its backends ${per(backendsAfter! - backendsBefore!)} us)\n`);
  }
  return result.tps;
}

/** 100,000 member accounts funded from one bank account by one opening voucher; a hot merchant of each kind. */
async function seed(pool: pg.Pool, ledger: Ledger): Promise<{ bank: string; hotCredit: string; hotBuffered: string; hotDebit: string }> {
  const bank = await ledger.openAccount({ type: 'internal', currency: 'CNY', code: 'bench:bank' });
  const hotCredit = await ledger.openAccount({ type: 'merchant', currency: 'CNY', code: 'bench:hot-credit', hot: 'sub_accounts', subCount: 16 });
  const hotBuffered = await ledger.openAccount({ type: 'platform', currency: 'CNY', code: 'bench:hot-buffered', hot: 'buffered' });
  const hotDebit = await ledger.openAccount({ type: 'merchant', currency: 'CNY', code: 'bench:hot-debit', hot: 'sub_accounts', subCount: 16 });
  if (!bank.ok || !hotCredit.ok || !hotBuffered.ok || !hotDebit.ok) throw new Error('seed accounts refused');
  await pool.query(
    `insert into ledger.account (id, type, currency, owner, floor, posted)
     select gen_random_uuid(), 'member', 'CNY', 'bench', 0, $1::bigint from generate_series(1, $2::integer)`,
    [openingBalance.toString(), accountCount],
  );
  await pool.query(
    `with v as (insert into ledger.voucher (id, source, reference, content_hash, currency, accounting_date)
                values (gen_random_uuid(), 'bench', 'opening', '-', 'CNY', current_date) returning id)
     insert into ledger.entry (voucher_id, account_id, amount, balance_after, accounting_date)
     select v.id, a.id, a.posted, a.posted, current_date from v, ledger.account a where a.owner = 'bench'
     union all
     select v.id, $1::uuid, -(select sum(posted) from ledger.account where owner = 'bench')::bigint,
            -(select sum(posted) from ledger.account where owner = 'bench')::bigint, current_date from v`,
    [bank.account.id],
  );
  await pool.query(`update ledger.account set posted = -(select sum(posted) from ledger.account where owner = 'bench') where id = $1`, [bank.account.id]);
  // The hot debit account starts with money in every slot: one voucher per slot, from the bank.
  for (let i = 0; i < 64; i += 1) {
    const funded = await ledger.post({
      source: 'bench',
      reference: `fund-hot-${i}`,
      currency: 'CNY',
      entries: [{ accountId: bank.account.id, amount: -1_000_000_000n }, { accountId: hotDebit.account.id, amount: 1_000_000_000n }],
    });
    if (!funded.ok) throw new Error(`funding refused: ${funded.error}`);
  }
  await pool.query('vacuum analyze');
  // Start every phase from a clean checkpoint, as pgbench starts from a vacuum: otherwise the
  // checkpoint of pgbench's and the seed's writes lands in the first phase. (Needs a superuser;
  // skipped on a BENCH_DATABASE_URL without one.)
  await pool.query('checkpoint').catch(() => undefined);
  return { bank: bank.account.id, hotCredit: hotCredit.account.id, hotBuffered: hotBuffered.account.id, hotDebit: hotDebit.account.id };
}

/** BENCH_CPU_DETAIL=1: CPU (ms) per cluster process, by its title, to see where a phase spends it. */
function clusterCpuByProcess(postmasterPid: number): Map<string, number> {
  const result = new Map<string, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      if (Number(fields[1]) !== postmasterPid) continue;
      const title = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      result.set(`${entry} ${title}`, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      continue;
    }
  }
  return result;
}

/** CPU time (ms) used so far by the backends connected to one database of the cluster. */
function databaseCpuMs(postmasterPid: number | undefined, database: string): number | undefined {
  if (postmasterPid === undefined) return undefined;
  let total = 0;
  for (const [title, ms] of clusterCpuByProcess(postmasterPid)) if (title.includes(` ${database} `)) total += ms;
  return total;
}

/** CPU time (ms) used so far by a PostgreSQL cluster: the postmaster, its reaped and its live children. */
function clusterCpuMs(postmasterPid: number | undefined): number | undefined {
  if (postmasterPid === undefined) return undefined;
  const tickMs = 10; // USER_HZ is 100 on Linux
  let ticks = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    const pid = Number(entry);
    const ppid = Number(fields[1]);
    if (pid === postmasterPid) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    else if (ppid === postmasterPid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * tickMs;
}

let postmasterPid: number | undefined;
let ledgerDatabase = '';

interface PhaseResult {
  readonly perSecond: number;
  readonly latenciesMs: number[];
  readonly refused: number;
}

/** 16 callers, each posting one voucher at a time until the phase's time is up. */
async function phase(name: string, ledger: Ledger, voucher: (caller: number, n: number) => Parameters<Ledger['post']>[0]): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  let refused = 0;
  const statsBefore = ledger.engineStats();
  const pgCpuBefore = clusterCpuMs(postmasterPid);
  const backendCpuBefore = databaseCpuMs(postmasterPid, ledgerDatabase);
  const detailBefore = process.env.BENCH_CPU_DETAIL && postmasterPid !== undefined ? clusterCpuByProcess(postmasterPid) : undefined;
  const nodeCpuBefore = process.cpuUsage();
  const began = performance.now();
  const deadline = began + phaseMs;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let n = 0; performance.now() < deadline; n += 1) {
        const start = performance.now();
        const result = await ledger.post(voucher(caller, n));
        latenciesMs.push(performance.now() - start);
        if (!result.ok) refused += 1;
      }
    }),
  );
  const elapsedS = (performance.now() - began) / 1000;
  const perSecond = latenciesMs.length / elapsedS;
  const nodeCpu = process.cpuUsage(nodeCpuBefore);
  const nodeUs = (nodeCpu.user + nodeCpu.system) / latenciesMs.length;
  const pgCpuAfter = clusterCpuMs(postmasterPid);
  const backendCpuAfter = databaseCpuMs(postmasterPid, ledgerDatabase);
  const backendUs = backendCpuBefore === undefined || backendCpuAfter === undefined ? undefined : ((backendCpuAfter - backendCpuBefore) * 1000) / latenciesMs.length;
  if (detailBefore) {
    for (const [key, ms] of clusterCpuByProcess(postmasterPid!)) {
      const delta = ms - (detailBefore.get(key) ?? 0);
      if (delta >= 100) process.stdout.write(`#   ${delta} ms ${key}\n`);
    }
  }
  const pgUs = pgCpuBefore === undefined || pgCpuAfter === undefined ? undefined : ((pgCpuAfter - pgCpuBefore) * 1000) / latenciesMs.length;
  process.stdout.write(
    `# ${name}: ${latenciesMs.length} postings in ${elapsedS.toFixed(1)} s, ${refused} refused; CPU per posting: ` +
      `node ${nodeUs.toFixed(0)} us${pgUs === undefined ? '' : `, postgres ${pgUs.toFixed(0)} us (its backends ${backendUs!.toFixed(0)} us)`}; ` +
      `${((ledger.engineStats().vouchers - statsBefore.vouchers) / Math.max(1, ledger.engineStats().batches - statsBefore.batches)).toFixed(1)} per batch, ` +
      `${ledger.engineStats().retries - statsBefore.retries} retried batches\n`,
  );
  return { perSecond, latenciesMs, refused };
}

async function main(): Promise<void> {
  // BENCH_AUTO_EXPLAIN=<ms>: the plans of the ledger's statements slower than that, from the server log.
  const cluster = await benchCluster('bench', process.env.BENCH_AUTO_EXPLAIN ? (line: string) => process.stderr.write(line) : undefined);
  const { url, stop } = cluster;
  postmasterPid = cluster.postmasterPid;
  let dropAfter: string | undefined;
  try {
    const pgbenchUrl = withDatabaseName(url, 'bench_pgbench');
    ledgerDatabase = `bench_ledger_${Date.now()}`;
    const ledgerUrl = withDatabaseName(url, ledgerDatabase);
    await ensureDatabase(pgbenchUrl);
    await ensureDatabase(ledgerUrl);
    dropAfter = ledgerUrl;

    // BENCH_PGBENCH_TPS skips the reference run (for quick experiments only).
    process.stdout.write('# pgbench tpcb-like: -i -s 10, then -c 8 -j 2 -T 20\n');
    const tps = process.env.BENCH_PGBENCH_TPS ? Number(process.env.BENCH_PGBENCH_TPS) : await pgbenchTps(pgbenchUrl);
    process.stdout.write(`pgbench_tps ${tps.toFixed(0)}\n`);

    const pool = createPool(ledgerUrl, { max: 24 });
    if (process.env.BENCH_AUTO_EXPLAIN) {
      pool.on('connect', (client) => {
        void client.query(`load 'auto_explain'; set auto_explain.log_min_duration = ${Number(process.env.BENCH_AUTO_EXPLAIN)}; set auto_explain.log_nested_statements = on`);
      });
    }
    const db = createKysely<LedgerDB>(pool);
    await migrateSubsystem(db as Kysely<unknown>, 'ledger');
    const logger = createLogger('warn');
    const options = {
      flushers: Number(process.env.BENCH_FLUSHERS ?? 2),
      batchWaitMs: Number(process.env.BENCH_BATCH_WAIT_MS ?? 0),
      spreadMin: Number(process.env.BENCH_SPREAD_MIN ?? 8),
    };
    const ledger = createLedger({ db, pool, clock: { now: () => new Date() }, logger, options });
    const accounts = await seed(pool, ledger);
    const ids = (await pool.query<{ id: string }>(`select id from ledger.account where owner = 'bench'`)).rows.map((r) => r.id);
    const pick = (): string => ids[Math.floor(Math.random() * ids.length)]!;
    const workers = ledger.workers();
    workers.forEach((w) => w.start());

    const amount = (): bigint => BigInt(1 + Math.floor(Math.random() * 10_000));
    // The three phases of the benchmark (hot accounts as sub-accounts), then, for comparison only
    // and not in the JSON, hot credits to a buffered account. BENCH_ORDER runs another selection.
    const order = (process.env.BENCH_ORDER ?? 'uniform,credit,debit,buffered').split(',');
    const phases = {
      uniform: () =>
        phase('uniform', ledger, (caller, n) => {
          const from = pick();
          let to = pick();
          while (to === from) to = pick();
          const value = amount();
          return { source: 'bench', reference: `u-${caller}-${n}`, currency: 'CNY', entries: [{ accountId: from, amount: -value }, { accountId: to, amount: value }] };
        }),
      credit: () =>
        phase('hot credit (16 sub-accounts)', ledger, (caller, n) => {
          const value = amount();
          return { source: 'bench', reference: `c-${caller}-${n}`, currency: 'CNY', entries: [{ accountId: pick(), amount: -value }, { accountId: accounts.hotCredit, amount: value }] };
        }),
      buffered: () =>
        phase('hot credit (buffered)', ledger, (caller, n) => {
          const value = amount();
          return { source: 'bench', reference: `b-${caller}-${n}`, currency: 'CNY', entries: [{ accountId: pick(), amount: -value }, { accountId: accounts.hotBuffered, amount: value }] };
        }),
      debit: () =>
        phase('hot debit with floor (16 sub-accounts)', ledger, (caller, n) => {
          const value = amount();
          return { source: 'bench', reference: `d-${caller}-${n}`, currency: 'CNY', entries: [{ accountId: accounts.hotDebit, amount: -value }, { accountId: pick(), amount: value }] };
        }),
    };
    const results: Partial<Record<keyof typeof phases, PhaseResult>> = {};
    for (const name of order) results[name as keyof typeof phases] = await phases[name as keyof typeof phases]();
    const empty: PhaseResult = { perSecond: 0, latenciesMs: [], refused: 0 };
    const uniform = results.uniform ?? empty;
    const hotCredit = results.credit ?? empty;
    const hotDebit = results.debit ?? empty;

    await Promise.all(workers.map((w) => w.stop()));
    while ((await ledger.fold()) > 0);
    await ledger.close();

    const all = [...uniform.latenciesMs, ...hotCredit.latenciesMs, ...hotDebit.latenciesMs].sort((a, b) => a - b);
    const p50 = percentile(all, 50);
    const p99 = percentile(all, 99);
    const lines: Array<[string, PhaseResult]> = [['uniform', uniform], ['hot_credit', hotCredit], ['hot_debit', hotDebit]];
    if (results.buffered) lines.push(['hot_credit_buffered', results.buffered]);
    for (const [name, result] of lines) {
      const sorted = [...result.latenciesMs].sort((a, b) => a - b);
      process.stdout.write(
        `${name}_per_s ${result.perSecond.toFixed(0)} (${(result.perSecond / tps).toFixed(2)}x pgbench, ${(result.perSecond / uniform.perSecond).toFixed(2)}x uniform) ` +
          `p50 ${percentile(sorted, 50).toFixed(2)} ms p99 ${percentile(sorted, 99).toFixed(2)} ms\n`,
      );
    }
    const check = process.env.BENCH_CHECK === 'off' ? undefined : await ledger.check();
    if (check) process.stdout.write(`# ledger check after the run: balanced=${check.balanced}\n`);
    await db.destroy();
    process.stdout.write(`# all phases: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms; nproc ${os.cpus().length}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    process.stdout.write(
      JSON.stringify({
        pgbench_tps: Math.round(tps),
        uniform_per_s: Math.round(uniform.perSecond),
        hot_credit_per_s: Math.round(hotCredit.perSecond),
        hot_debit_per_s: Math.round(hotDebit.perSecond),
        p50_ms: Number(p50.toFixed(2)),
        p99_ms: Number(p99.toFixed(2)),
      }) + '\n',
    );
  } finally {
    if (dropAfter && !stop && !process.env.BENCH_KEEP) {
      const admin = new pg.Client({ connectionString: withDatabaseName(url, 'postgres') });
      await admin.connect();
      await admin.query(`drop database if exists "${new URL(dropAfter).pathname.slice(1)}" with (force)`);
      await admin.end();
    }
    await stop?.();
  }
}

await main();
