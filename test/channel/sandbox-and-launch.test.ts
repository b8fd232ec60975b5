/**
 * The sandbox is absent in production mode (404 even with a valid key), and `paycore start`'s
 * launcher runs the default banks as child processes and stops them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchSimulators } from '../../src/banksim/index.js';
import { createLogger, loadConfig } from '../../src/platform/index.js';
import { startTestPlatform } from '../support/platform.js';
import { childEnv, freePort, paycoreBin } from '../support/process.js';

test('PAYCORE_SANDBOX=off: the sandbox helpers answer 404', async () => {
  const platform = await startTestPlatform({ label: 'nosandbox', config: { sandbox: false } });
  try {
    const client = await platform.newClient();
    const auth = { authorization: `Bearer ${client.apiKey}` };
    for (const [method, url] of [['GET', '/v1/sandbox/sms?phone=13800000000'], ['GET', '/v1/sandbox/banks'], ['POST', '/v1/sandbox/banks/alpha/behaviour']] as const) {
      const response = await platform.runtime.http.inject({ method, url, headers: auth, ...(method === 'POST' ? { payload: {} } : {}) });
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.json().error.code, 'NOT_FOUND');
    }
  } finally {
    await platform.close();
  }
});

test('the launcher starts alpha and beta as child processes with their data under <dataDir>/banks, and stops them', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paycore-launch-'));
  const [alphaPort, betaPort] = [await freePort(), await freePort()];
  const env = childEnv({ PAYCORE_BANK_ALPHA_URL: `http://127.0.0.1:${alphaPort}`, PAYCORE_BANK_BETA_URL: `http://127.0.0.1:${betaPort}`, PAYCORE_DATA_DIR: dataDir });
  const config = loadConfig(env);
  const banks = launchSimulators(config, createLogger('silent'), 'http://127.0.0.1:9', paycoreBin, { env });
  try {
    for (const [bank, port] of [['alpha', alphaPort], ['beta', betaPort]] as const) {
      let info: { bank?: string } = {};
      for (let i = 0; i < 300 && info.bank !== bank; i += 1) {
        info = await fetch(`http://127.0.0.1:${port}/sim/info`).then((r) => r.json() as Promise<{ bank: string }>, () => ({}));
        if (info.bank !== bank) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(info.bank, bank);
      assert.ok(fs.existsSync(path.join(dataDir, 'banks', bank, 'bank.log.jsonl')));
    }
  } finally {
    await banks.stop();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${alphaPort}/sim/info`), 'alpha stopped');
  fs.rmSync(dataDir, { recursive: true, force: true });
});
