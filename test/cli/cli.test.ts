/**
 * The quick start as a user runs it: `paycore start` on a fresh embedded PostgreSQL under a data
 * directory, the CLI against the same database while the server runs, and a restart that keeps
 * everything. Real processes, real PostgreSQL binaries from the npm registry.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnv, freePort, runPaycore, spawnPaycore, type Spawned } from '../support/process.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paycore-cli-'));
fs.chmodSync(dataDir, 0o777);
let server: Spawned | undefined;

after(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited();
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function stop(s: Spawned): Promise<number | null> {
  s.child.kill('SIGTERM');
  return s.exited();
}

test('start, use the CLI beside the running server, restart, and the data is still there', { timeout: 180_000 }, async () => {
  const port = await freePort();
  // Every port free, so this test never meets another run's server, cluster or simulated bank.
  const env = childEnv({
    PAYCORE_DATA_DIR: dataDir,
    PORT: String(port),
    PAYCORE_PG_PORT: String(await freePort()),
    PAYCORE_BANK_ALPHA_URL: `http://127.0.0.1:${await freePort()}`,
    PAYCORE_BANK_BETA_URL: `http://127.0.0.1:${await freePort()}`,
  });
  const began = Date.now();
  server = spawnPaycore(['start'], env);
  const [, demoKey] = await server.waitFor(/demo client API key \(shown once\): (pk_\S+)/, 120_000);
  const startMs = Date.now() - began;
  assert.ok(demoKey);
  assert.match(server.output(), new RegExp(`http://127\\.0\\.0\\.1:${port}/v1`));
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { status: string }).status, 'ok');
  process.stdout.write(`# first start to ready on a fresh data dir: ${startMs} ms\n`);

  const client = await runPaycore(['client', 'create', '--name', 'shop', '--json'], env);
  assert.equal(client.code, 0, client.stderr);
  const created = JSON.parse(client.stdout) as Record<string, string>;
  assert.deepEqual(Object.keys(created).sort(), ['api_key', 'id', 'name', 'notify_secret']);
  assert.equal(created.name, 'shop');
  assert.match(created.api_key!, /^pk_/);

  const operator = await runPaycore(['operator', 'create', '--name', 'ops', '--role', 'admin', '--json'], env);
  assert.equal(operator.code, 0, operator.stderr);
  const op = JSON.parse(operator.stdout) as Record<string, string>;
  assert.deepEqual(Object.keys(op).sort(), ['id', 'name', 'password', 'role', 'token']);
  assert.equal(op.role, 'admin');

  const again = await runPaycore(['operator', 'create', '--name', 'ops', '--role', 'viewer', '--json'], env);
  assert.equal(again.code, 2, 'a taken operator name is refused');
  const badRole = await runPaycore(['operator', 'create', '--name', 'x', '--role', 'root', '--json'], env);
  assert.equal(badRole.code, 2);

  assert.equal(await stop(server), 0);

  server = spawnPaycore(['start'], env);
  await server.waitFor(/Paycore is up/, 120_000);
  assert.doesNotMatch(server.output(), /demo client API key/, 'clients survived the restart, so no new demo client');
  const migrate = await runPaycore(['migrate'], env);
  assert.equal(migrate.code, 0, migrate.stderr);
  assert.match(migrate.stdout, /up to date/);
  assert.equal(await stop(server), 0);
});

test('a bad configuration stops the CLI with a clear message, not a stack trace', async () => {
  const result = await runPaycore(['migrate'], childEnv({ PORT: 'eighty' }));
  assert.equal(result.code, 2);
  assert.match(result.stderr, /PORT must be an integer/);
});
