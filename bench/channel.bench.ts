/**
 * `npm run bench:channel`: card payments per second through the channel gateway, end to end:
 * pay() records the channel order and returns the voucher; the gateway calls the simulated bank
 * (a real `paycore bank-sim` process, 5 ms latency, no jitter); the bank settles after another
 * 5 ms and calls back over HTTP; the callback is verified and the order finished (compare-and-set
 * plus outbox event) and the in-process listener hears it. Half the cards are alpha's (JSON,
 * HMAC header), half beta's (form-encoded, signed field).
 *
 * A fresh embedded PostgreSQL with durable settings (or BENCH_DATABASE_URL), the whole runtime
 * with its workers. BENCH_PHASE_S (default 15) bounds the measured phase, BENCH_CALLERS (default
 * 32) callers each pay, wait for the result, pay again. The last line printed is one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Databases, newId, createLogger, freePort, loadConfig, startEmbedded, systemContext, withDatabaseName, ensureDatabase } from '../src/platform/index.js';
import { createRuntime } from '../src/runtime/index.js';
import type { ChannelOrder } from '../src/channel/index.js';

const phaseMs = Number(process.env.BENCH_PHASE_S ?? 15) * 1000;
const callers = Number(process.env.BENCH_CALLERS ?? 32);
const warmupMs = 2_000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const secrets = { PAYCORE_BANK_ALPHA_SECRET: 'bench-alpha-secret-0123456789', PAYCORE_BANK_BETA_SECRET: 'bench-beta-secret-0123456789', PAYCORE_CARD_NETWORK_KEY: 'bench-network-key-0123456789' };

function startSim(bank: string, port: number, dataDir: string): Promise<ChildProcess> {
  const env = { ...process.env, ...secrets, LOG_LEVEL: 'warn' };
  const child = spawn(process.execPath, [path.join(root, 'bin', 'paycore.mjs'), 'bank-sim', '--bank', bank, '--port', String(port), '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bank ${bank} did not start`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`bank ${bank} exited ${code}`)));
  });
}

/** CPU seconds a process has used (Linux /proc; clock ticks of 1/100 s), or NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'paycore-bench-channel-'));
  fs.chmodSync(tmp, 0o777);
  const cleanups: Array<() => Promise<void> | void> = [() => fs.rmSync(tmp, { recursive: true, force: true })];
  try {
    let url = process.env.BENCH_DATABASE_URL;
    if (!url) {
      const cluster = await startEmbedded({ dataDir: path.join(tmp, 'pg'), port: await freePort(), database: 'bench', fast: false });
      url = cluster.url;
      cleanups.unshift(() => cluster.stop());
    } else {
      url = withDatabaseName(url, `bench_channel_${process.pid}`);
      await ensureDatabase(url);
    }
    const [alphaPort, betaPort, port] = [await freePort(), await freePort(), await freePort()];
    const sims = await Promise.all([startSim('alpha', alphaPort, path.join(tmp, 'alpha')), startSim('beta', betaPort, path.join(tmp, 'beta'))]);
    cleanups.unshift(() => sims.forEach((child) => child.kill('SIGKILL')));
    for (const simPort of [alphaPort, betaPort]) {
      await fetch(`http://127.0.0.1:${simPort}/sim/behaviour`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latency_ms: 5, latency_jitter_ms: 0 }) });
    }
    const config = loadConfig({ ...secrets, PAYCORE_BANK_ALPHA_URL: `http://127.0.0.1:${alphaPort}`, PAYCORE_BANK_BETA_URL: `http://127.0.0.1:${betaPort}`, PORT: String(port), PAYCORE_DB_POOL_MAX: '32' }, { databaseUrl: url });
    const logger = createLogger('warn');
    const databases = new Databases({ main: url, perSubsystem: {} }, config.dbPoolMax);
    await databases.migrate();
    const runtime = await createRuntime({ config, logger, databases });
    await runtime.http.listen({ port, host: '127.0.0.1' });
    runtime.startWorkers();
    cleanups.unshift(async () => {
      await runtime.stopWorkers();
      await runtime.http.close();
      await databases.close();
    });
    const gateway = runtime.channel;

    // Cards: one per caller, alternating banks; the SMS code read from the bank's test endpoint.
    const agreements: string[] = [];
    for (let i = 0; i < callers; i += 1) {
      const bank = i % 2 === 0 ? 'alpha' : 'beta';
      const cardNo = `${bank === 'alpha' ? '6222' : '6217'}${String(i).padStart(8, '0')}0000`;
      const phone = `1390000${String(i).padStart(4, '0')}`;
      const signed = await gateway.signCard({ memberRef: `bench-${i}`, cardNo, holderName: 'Bench', phone });
      if (!signed.ok) throw new Error(`sign failed: ${signed.reason}`);
      const sms = (await (await fetch(`http://127.0.0.1:${bank === 'alpha' ? alphaPort : betaPort}/sim/sms?phone=${phone}`)).json()) as { code: string };
      const verified = await gateway.verifyCard(signed.signId, sms.code);
      if (!verified.ok) throw new Error(`verify failed: ${verified.reason}`);
      agreements.push(verified.agreement.id);
    }

    const waiting = new Map<string, (order: ChannelOrder) => void>();
    // Keyed by instruction, registered before pay(): the result may come back before pay() does.
    gateway.onResult((order) => waiting.get(order.instructionId)?.(order));
    const ctx = systemContext('bench-channel');
    const voucherMs: number[] = [];
    const endToEndMs: number[] = [];
    const statuses: Record<string, number> = {};
    let measuring = false;
    let n = 0;
    const loadBefore = Math.round(os.loadavg()[0]! * 100) / 100;
    const began = Date.now();
    const stopAt = began + warmupMs + phaseMs;
    let measuredFrom = 0;
    let completed = 0;

    const caller = async (index: number): Promise<void> => {
      while (Date.now() < stopAt) {
        n += 1;
        // Instruction ids are uuids, like the payment core's (its result listener runs here too).
        const instructionId = newId();
        let resolveResult!: (order: ChannelOrder) => void;
        const finished = new Promise<ChannelOrder>((resolve) => (resolveResult = resolve));
        waiting.set(instructionId, resolveResult);
        const t0 = performance.now();
        const paid = await gateway.pay({ instructionId, agreementId: agreements[index]!, amount: 100n + BigInt(n % 1000), ctx });
        if (!paid.ok) throw new Error(`pay refused: ${paid.reason}`);
        const t1 = performance.now();
        const order = await finished;
        waiting.delete(instructionId);
        const t2 = performance.now();
        if (measuring) {
          voucherMs.push(t1 - t0);
          endToEndMs.push(t2 - t0);
          statuses[`${order.bank}:${order.status}:${order.resolvedBy}`] = (statuses[`${order.bank}:${order.status}:${order.resolvedBy}`] ?? 0) + 1;
          completed += 1;
        }
      }
    };
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    let cpuFrom = { own: process.cpuUsage(), sims: [0, 0] };
    setTimeout(() => {
      measuring = true;
      measuredFrom = Date.now();
      loopDelay.enable();
      cpuFrom = { own: process.cpuUsage(), sims: sims.map((child) => cpuSeconds(child.pid)) };
    }, warmupMs);
    await Promise.all(Array.from({ length: callers }, (_, i) => caller(i)));
    const seconds = (Date.now() - measuredFrom) / 1000;
    const ownCpu = process.cpuUsage(cpuFrom.own);
    const simsCpu = sims.reduce((sum, child, i) => sum + cpuSeconds(child.pid) - cpuFrom.sims[i]!, 0);
    voucherMs.sort((a, b) => a - b);
    endToEndMs.sort((a, b) => a - b);
    const figures = {
      bench: 'channel',
      callers,
      phase_s: Math.round(seconds * 10) / 10,
      bank_latency_ms: 5,
      payments: completed,
      payments_per_s: Math.round(completed / seconds),
      voucher_p50_ms: percentile(voucherMs, 0.5),
      voucher_p99_ms: percentile(voucherMs, 0.99),
      end_to_end_p50_ms: percentile(endToEndMs, 0.5),
      end_to_end_p99_ms: percentile(endToEndMs, 0.99),
      outcomes: statuses,
      // CPU per payment, whatever else runs on the machine: Paycore's process (gateway, HTTP, the
      // other subsystems' workers) and the two simulators; PostgreSQL's is not counted.
      paycore_cpu_ms_per_payment: Math.round(((ownCpu.user + ownCpu.system) / 1000 / completed) * 100) / 100,
      banks_cpu_ms_per_payment: Math.round(((simsCpu * 1000) / completed) * 100) / 100,
      // How late this process's event loop ran (a busy or starved CPU shows here first).
      event_loop_delay_p99_ms: Math.round(loopDelay.percentile(99) / 1e5) / 10,
      cpus: os.cpus().length,
      // Other work on the machine shares the CPUs: the 1-minute load average before and after.
      load_avg_1m: [loadBefore, Math.round(os.loadavg()[0]! * 100) / 100],
      database: process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'embedded PostgreSQL (durable)',
    };
    process.stdout.write(`card payments through the gateway: ${figures.payments_per_s}/s over ${figures.phase_s} s with ${callers} callers; voucher p50 ${figures.voucher_p50_ms} ms p99 ${figures.voucher_p99_ms} ms; pay→result p50 ${figures.end_to_end_p50_ms} ms p99 ${figures.end_to_end_p99_ms} ms\n`);
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

await main();
process.exit(0);
