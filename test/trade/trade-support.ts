/**
 * Test support for the trade and payment cores: HTTP calls as a client, members with money,
 * active cards, and a channel whose bank results the test decides (the real gateway with
 * simulated banks is exercised in its own file).
 */
import assert from 'node:assert/strict';
import { newId } from '../../src/platform/index.js';
import type { ChannelOrderView, ChannelPort, ChannelStart } from '../../src/payment/index.js';
import { startTestPlatform, type TestPlatform, type TestPlatformOptions } from '../support/platform.js';

export interface Reply {
  readonly status: number;
  readonly body: Record<string, any>;
}

export interface TradeHarness {
  readonly platform: TestPlatform;
  readonly key: string;
  readonly clientId: string;
  readonly channel: FakeChannel;
  api(method: 'GET' | 'POST', url: string, body?: unknown, key?: string): Promise<Reply>;
  member(name?: string, type?: 'personal' | 'merchant'): Promise<{ id: string; accountId: string }>;
  fund(accountId: string, amount: bigint): Promise<void>;
  balance(accountId: string): Promise<{ posted: bigint; frozen: bigint; available: bigint }>;
  card(memberId: string, bank?: string): Promise<string>;
  trade(body: Record<string, unknown>): Promise<Record<string, any>>;
  close(): Promise<void>;
}

/** A bank channel whose results the test decides: `auto` answers at once, `manual` waits for settle(). */
export class FakeChannel implements ChannelPort {
  readonly orders = new Map<string, ChannelOrderView & { service: string; instructionId: string; originalOrderId?: string }>();
  private readonly listeners: Array<(order: ChannelOrderView) => void> = [];
  mode: 'success' | 'failed' | 'manual' = 'success';
  /** A refusal at once, as the gateway answers with no channel. */
  refuse: string | undefined;

  private start(service: string, input: { instructionId: string; amount: bigint; originalOrderId?: string }): ChannelStart {
    if (this.refuse) return { ok: false, reason: this.refuse };
    const existing = [...this.orders.values()].find((o) => o.instructionId === input.instructionId && o.service === service);
    if (existing) return { ok: true, order: { ...existing } };
    const order = { id: newId(), instructionId: input.instructionId, bank: 'alpha', amount: input.amount, status: 'processing' as const, service, ...(input.originalOrderId ? { originalOrderId: input.originalOrderId } : {}) };
    this.orders.set(order.id, order);
    if (this.mode !== 'manual') setTimeout(() => this.settle(order.id, this.mode as 'success' | 'failed'), 5);
    return { ok: true, order: { ...order } };
  }

  async pay(input: { instructionId: string; amount: bigint }): Promise<ChannelStart> {
    return this.start('pay', input);
  }
  async payout(input: { instructionId: string; amount: bigint }): Promise<ChannelStart> {
    return this.start('payout', input);
  }
  async refund(input: { instructionId: string; originalOrderId: string; amount: bigint }): Promise<ChannelStart> {
    return this.start('refund', input);
  }
  async getOrder(id: string): Promise<ChannelOrderView | undefined> {
    const order = this.orders.get(id);
    return order && { ...order };
  }
  onResult(listener: (order: ChannelOrderView) => void): void {
    this.listeners.push(listener);
  }

  /** The bank answers. */
  settle(id: string, status: 'success' | 'failed'): void {
    const order = this.orders.get(id);
    assert.ok(order, `no channel order ${id}`);
    if (order.status !== 'processing') return;
    this.orders.set(id, { ...order, status });
    for (const listener of this.listeners) listener({ ...order, status });
  }

  byService(service: string): Array<ChannelOrderView & { service: string }> {
    return [...this.orders.values()].filter((o) => o.service === service);
  }
}

/** Waits (bounded) until `check` holds. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let fundings = 0;

export async function startTradeHarness(label: string, options: TestPlatformOptions = {}): Promise<TradeHarness> {
  const platform = await startTestPlatform({ label, ...options });
  const client = await platform.newClient(`${label}-client`);
  const channel = new FakeChannel();
  platform.runtime.trade.payment.useChannel(channel);
  const { ledger } = platform.runtime;
  const funding = await ledger.openAccount({ type: 'platform', currency: 'CNY', code: 'test:funding:CNY', floor: null });
  assert.ok(funding.ok);
  const api = async (method: 'GET' | 'POST', url: string, body?: unknown, key = client.apiKey): Promise<Reply> => {
    const response = await platform.runtime.http.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: response.body ? (JSON.parse(response.body) as Record<string, any>) : {} };
  };
  let members = 0;
  return {
    platform,
    key: client.apiKey,
    clientId: client.id,
    channel,
    api,
    async member(name = 'member', type = 'personal') {
      members += 1;
      const reply = await api('POST', '/v1/members', { type, name: `${name}-${members}` });
      assert.ok(reply.status === 200 || reply.status === 201, JSON.stringify(reply.body));
      return { id: reply.body.id as string, accountId: reply.body.account_id as string };
    },
    async fund(accountId, amount) {
      fundings += 1;
      const posted = await ledger.post({
        source: 'test.funding',
        reference: `${process.pid}-${fundings}-${newId()}`,
        currency: 'CNY',
        entries: [
          { accountId: funding.account.id, amount: -amount },
          { accountId, amount },
        ],
      });
      assert.ok(posted.ok, JSON.stringify(posted));
    },
    async balance(accountId) {
      const balance = await ledger.balance(accountId);
      assert.ok(balance);
      return balance;
    },
    async card(memberId, bank = 'alpha') {
      const id = newId();
      await platform.databases
        .get<any>('member')
        .insertInto('member.card')
        .values({ id, member_id: memberId, client_id: client.id, bank, last4: '0000', card_hash: `h-${id}`, sign_id: newId(), agreement: newId(), status: 'active', verified_at: new Date() })
        .execute();
      return id;
    },
    async trade(body) {
      const reply = await api('POST', '/v1/trades', { subject: 'goods', ...body, out_trade_no: body.out_trade_no ?? `T${newId().replace(/-/g, '')}` });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      return reply.body;
    },
    async close() {
      await platform.close();
    },
  };
}

/** The ledger's own invariants hold, and no money stays frozen (run after every test file). */
export async function assertLedgerCheck(platform: TestPlatform): Promise<void> {
  await platform.runtime.ledger.fold();
  const report = await platform.runtime.ledger.check();
  const text = JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  assert.ok(report.balanced, text);
  assert.deepEqual(report.negative_accounts, [], text);
  assert.deepEqual(report.mismatched_accounts, [], text);
  assert.deepEqual(report.frozen_mismatches, [], text);
  assert.deepEqual(report.unbalanced_vouchers, [], text);
}
