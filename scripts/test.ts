/**
 * Runs the whole suite with node's own test runner. One PostgreSQL serves the run: the server
 * named by TEST_DATABASE_URL, else one embedded cluster started here and stopped at the end.
 * Every test file creates its own database on it (test/support/platform.ts).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startEmbedded } from '../src/platform/index.js';

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

const filters = process.argv.slice(2);
let files = [...findTests('test'), ...findTests('src')];
if (filters.length > 0) files = files.filter((file) => filters.some((f) => file.includes(f)));
if (files.length === 0) {
  process.stderr.write('no test files matched\n');
  process.exit(1);
}

const env = { ...process.env };
let stopCluster: (() => Promise<void>) | undefined;
if (!env.TEST_DATABASE_URL) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paycore-test-'));
  fs.chmodSync(dataDir, 0o777);
  const cluster = await startEmbedded({ dataDir, port: await freePort(), database: 'postgres', fast: true });
  env.TEST_DATABASE_URL = cluster.url;
  stopCluster = async () => {
    await cluster.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  process.stdout.write(`# test database: embedded PostgreSQL at ${new URL(cluster.url).host}\n`);
} else {
  process.stdout.write(`# test database: ${new URL(env.TEST_DATABASE_URL).host} (TEST_DATABASE_URL)\n`);
}

const concurrency = env.PAYCORE_TEST_CONCURRENCY ?? '3';
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env,
});
const code: number = await new Promise((resolve) => child.on('close', (status) => resolve(status ?? 1)));
await stopCluster?.();
process.exit(code);
