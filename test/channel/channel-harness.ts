/**
 * Test harness for the channel gateway: two real simulated banks (`paycore bank-sim` processes
 * on free ports, temp data dirs), the whole platform over a fresh database listening on a free
 * port for the banks' callbacks, short windows and backoffs. Everything is torn down in close().
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, systemContext, type ChannelTuning } from '../../src/platform/index.js';
import type { ChannelOrder } from '../../src/channel/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { childEnv, freePort, spawnPaycore, type Spawned } from '../support/process.js';

export const secrets = { alpha: 'test-alpha-secret-0123456789', beta: 'test-beta-secret-0123456789', network: 'test-network-key-0123456789' };
export type Bank = 'alpha' | 'beta';

export const fastTuning: Partial<ChannelTuning> = {
  callTimeoutMs: 1_000,
  callbackWaitMs: 1_000,
  queryBackoffBaseMs: 100,
  queryBackoffMaxMs: 400,
  notFoundFailAfterMs: 1_500,
  breakerWindowMs: 3_000,
  breakerMinCalls: 10,
  breakerThresholdPercent: 50,
  breakerTimeoutsToOpen: 3,
  breakerOpenMs: 1_000,
  breakerProbesToClose: 2,
  workerIntervalMs: 50,
};

export class SimHandle {
  process: Spawned | undefined;
  constructor(
    readonly bank: Bank,
    readonly port: number,
    readonly dataDir: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const env = childEnv({ PAYCORE_BANK_ALPHA_SECRET: secrets.alpha, PAYCORE_BANK_BETA_SECRET: secrets.beta, PAYCORE_CARD_NETWORK_KEY: secrets.network });
    this.process = spawnPaycore(['bank-sim', '--bank', this.bank, '--port', String(this.port), '--data-dir', this.dataDir], env);
    await this.process.waitFor(/listening on/, 30_000);
  }

  /** SIGKILL: no goodbye, whatever was in flight is cut off. */
  async kill(): Promise<void> {
    if (!this.process || this.process.child.exitCode !== null || this.process.child.signalCode !== null) return;
    this.process.child.kill('SIGKILL');
    await this.process.exited();
  }

  async behaviour(patch: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.url}/sim/behaviour`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Record<string, unknown>;
  }

  async txn(requestId: string): Promise<Record<string, unknown> | undefined> {
    const response = await fetch(`${this.url}/sim/transactions/${requestId}`);
    return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
  }

  async info(): Promise<{ counters: { requests: number; callbacksSent: number } }> {
    return (await (await fetch(`${this.url}/sim/info`)).json()) as { counters: { requests: number; callbacksSent: number } };
  }
}

export interface Harness {
  readonly platform: TestPlatform;
  readonly sims: Record<Bank, SimHandle>;
  readonly port: number;
  bindCard(cardNo: string, phone?: string): Promise<string>;
  waitFinal(orderId: string, timeoutMs?: number): Promise<ChannelOrder>;
  close(): Promise<void>;
}

export const ctx = systemContext('channel-test-trace');

export async function startHarness(label: string, tuning: Partial<ChannelTuning> = {}, extra: Record<string, unknown> = {}): Promise<Harness> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `paycore-banks-${label}-`));
  const sims = { alpha: new SimHandle('alpha', await freePort(), path.join(root, 'alpha')), beta: new SimHandle('beta', await freePort(), path.join(root, 'beta')) };
  await Promise.all([sims.alpha.start(), sims.beta.start()]);
  const port = await freePort();
  const defaults = loadConfig({});
  const platform = await startTestPlatform({
    label,
    config: {
      port,
      banks: { alpha: { url: sims.alpha.url, secret: secrets.alpha }, beta: { url: sims.beta.url, secret: secrets.beta }, networkKey: secrets.network, cardHashKey: 'test-card-hash-key-0123456789', spawnSimulators: false },
      channel: { ...defaults.channel, ...fastTuning, ...tuning, callbackBaseUrl: `http://127.0.0.1:${port}` },
      ...extra,
    },
  });
  await platform.runtime.http.listen({ port, host: '127.0.0.1' });
  platform.runtime.startWorkers();
  const gateway = platform.runtime.channel;
  let phones = 0;
  return {
    platform,
    sims,
    port,
    async bindCard(cardNo, phone) {
      phones += 1;
      const mobile = phone ?? `139${String(process.pid % 10_000).padStart(4, '0')}${String(phones).padStart(4, '0')}`;
      const signed = await gateway.signCard({ memberRef: `member-${phones}`, cardNo, holderName: 'Test Holder', phone: mobile });
      assert.ok(signed.ok, JSON.stringify(signed));
      const sms = (await (await fetch(`${sims[signed.bank as Bank].url}/sim/sms?phone=${mobile}`)).json()) as { code: string };
      const verified = await gateway.verifyCard(signed.signId, sms.code);
      assert.ok(verified.ok, JSON.stringify(verified));
      return verified.agreement.id;
    },
    async waitFinal(orderId, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const order = await gateway.getOrder(orderId);
        assert.ok(order, `order ${orderId} exists`);
        if (order.status === 'success' || order.status === 'failed') return order;
        if (Date.now() > deadline) assert.fail(`order ${orderId} still ${order.status} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async close() {
      await platform.close();
      await Promise.all([sims.alpha.kill(), sims.beta.kill()]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` holds, polling; fails with `what` after timeoutMs. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
