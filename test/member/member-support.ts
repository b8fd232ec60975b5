/** Test support for members, marketing and risk: HTTP calls with a client key, and a ledger-check hook. */
import assert from 'node:assert/strict';
import type { TestPlatform } from '../support/platform.js';

export interface Reply {
  readonly status: number;
  readonly body: Record<string, any>;
}

/** One request through the real app (inject), as the client with `key`. */
export async function call(platform: TestPlatform, key: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await platform.runtime.http.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.statusCode, body: response.body ? (JSON.parse(response.body) as Record<string, any>) : {} };
}

/** Creates a member over HTTP and returns its JSON. */
export async function createMember(platform: TestPlatform, key: string, body: Record<string, unknown> = { type: 'personal', name: 'Han Meimei' }): Promise<Record<string, any>> {
  const reply = await call(platform, key, 'POST', '/v1/members', body);
  assert.ok(reply.status === 201 || reply.status === 200, JSON.stringify(reply.body));
  return reply.body;
}

/** The ledger's own invariants hold (run after every test file). */
export async function assertLedgerCheck(platform: TestPlatform): Promise<void> {
  await platform.runtime.ledger.fold();
  const report = await platform.runtime.ledger.check();
  assert.ok(report.balanced, JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  assert.deepEqual(report.negative_accounts, []);
  assert.deepEqual(report.mismatched_accounts, []);
  assert.deepEqual(report.frozen_mismatches, []);
  assert.deepEqual(report.unbalanced_vouchers, []);
}
