/** The circuit breaker on its own, with a hand-moved clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, type CircuitState } from '../../src/channel/circuit-breaker.js';
import { route, type RouteRequest } from '../../src/channel/channel-router.js';
import { loadConfig } from '../../src/platform/index.js';
import type { ChannelRow } from '../../src/channel/channel.table.js';

const tuning = { ...loadConfig({}).channel, breakerWindowMs: 10_000, breakerMinCalls: 10, breakerThresholdPercent: 50, breakerTimeoutsToOpen: 3, breakerOpenMs: 1_000, breakerProbesToClose: 2 };

function breaker(): { b: CircuitBreaker; clock: { t: number }; moves: Array<[CircuitState, CircuitState]> } {
  const clock = { t: 0 };
  const moves: Array<[CircuitState, CircuitState]> = [];
  const b = new CircuitBreaker(tuning, () => clock.t, (from, to) => void moves.push([from, to]));
  return { b, clock, moves };
}

test('timeouts in a row open it; an answer in between resets the count', () => {
  const { b } = breaker();
  b.record('timeout');
  b.record('timeout');
  b.answered(5);
  b.record('timeout');
  b.record('timeout');
  assert.equal(b.current(), 'closed');
  b.record('unreachable');
  assert.equal(b.current(), 'open');
  assert.equal(b.allows(), false);
});

test('a low success rate opens it only with enough results in the window; old results drop out', () => {
  const { b, clock } = breaker();
  for (let i = 0; i < 5; i += 1) b.record('error');
  assert.equal(b.current(), 'closed', 'five results are too few to judge');
  clock.t = 11_000;
  for (let i = 0; i < 6; i += 1) b.record('ok');
  for (let i = 0; i < 4; i += 1) b.record('error');
  assert.equal(b.current(), 'closed', '60% is above the threshold (the old errors left the window)');
  for (let i = 0; i < 3; i += 1) b.record('error');
  assert.equal(b.current(), 'open', '6 of 13 is below 50%');
  assert.ok(b.figures().successRate! < 0.5);
});

test('open → half-open after the open period; probes close it, a failed probe opens it again', () => {
  const { b, clock, moves } = breaker();
  for (let i = 0; i < 3; i += 1) b.record('timeout');
  assert.equal(b.current(), 'open');
  b.record('ok');
  clock.t += 999;
  assert.equal(b.wantsProbe(), false);
  clock.t += 1;
  assert.equal(b.wantsProbe(), true);
  assert.equal(b.allows(), false, 'half-open takes probes, never payments');
  b.recordProbe(true);
  b.recordProbe(false);
  assert.equal(b.current(), 'open');
  clock.t += 1_000;
  b.recordProbe(true);
  b.recordProbe(true);
  assert.equal(b.current(), 'closed');
  assert.equal(b.figures().calls, 0, 'a closed circuit starts a fresh window');
  assert.deepEqual(moves, [['closed', 'open'], ['open', 'half_open'], ['half_open', 'open'], ['open', 'half_open'], ['half_open', 'closed']]);
});

const channel = (code: string, bank: string, bins: string[], costBp: number, extra: Partial<ChannelRow> = {}): ChannelRow => ({
  id: code, code, bank, name: code, services: ['sign', 'pay', 'refund', 'payout'], card_bins: bins, currency: 'CNY', min_amount: 1n, max_amount: 1_000_000n,
  cost_rate_bp: costBp, cost_fixed: 0n, enabled: true, switched_by: null, switched_at: null, created_at: new Date(0), ...extra,
});

test('routing: rules first (BIN, bank, limits, switch, circuit), then success-rate band, then cost', () => {
  const a = channel('a', 'alpha', ['6222', '6228'], 25);
  const b = channel('b', 'beta', ['6217', '6228'], 30);
  const req: RouteRequest = { service: 'pay', cardBin: '622800', amount: 100n, currency: 'CNY', bank: undefined, exclude: [] };
  const codes = (views: Parameters<typeof route>[0], r: RouteRequest = req) => route(views, r).map((c) => c.code);
  assert.deepEqual(codes([{ channel: a, allows: true, successRate: null }, { channel: b, allows: true, successRate: null }]), ['a', 'b'], 'cheaper first');
  assert.deepEqual(codes([{ channel: a, allows: true, successRate: 0.97 }, { channel: b, allows: true, successRate: 0.99 }]), ['a', 'b'], 'same 5% band: cost decides');
  assert.deepEqual(codes([{ channel: a, allows: true, successRate: 0.8 }, { channel: b, allows: true, successRate: 0.99 }]), ['b', 'a'], 'clearly better rate wins');
  assert.deepEqual(codes([{ channel: a, allows: false, successRate: null }, { channel: b, allows: true, successRate: null }]), ['b'], 'open circuit is out');
  assert.deepEqual(codes([{ channel: { ...a, enabled: false }, allows: true, successRate: null }, { channel: b, allows: true, successRate: null }]), ['b'], 'switched off is out');
  assert.deepEqual(codes([{ channel: a, allows: true, successRate: null }, { channel: b, allows: true, successRate: null }], { ...req, cardBin: '621700' }), ['b'], 'BIN');
  assert.deepEqual(codes([{ channel: a, allows: true, successRate: null }, { channel: b, allows: true, successRate: null }], { ...req, bank: 'beta' }), ['b'], 'bound bank');
  assert.deepEqual(codes([{ channel: a, allows: true, successRate: null }, { channel: b, allows: true, successRate: null }], { ...req, amount: 1_000_001n }), [], 'amount limit');
  assert.deepEqual(codes([{ channel: a, allows: true, successRate: null }, { channel: b, allows: true, successRate: null }], { ...req, exclude: ['a'] }), ['b'], 'excluded after a refused connection');
});
