/** The login throttle's arithmetic on a manual clock: per name, per address, the sliding window, success. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle } from '../../src/web/login-throttle.js';

test('failures per name and per address over a sliding window; a success clears the name', () => {
  let now = 1_000_000;
  const throttle = new LoginThrottle({ name: { max: 3, windowMs: 60_000 }, address: { max: 5, windowMs: 60_000 } }, () => now);
  for (let i = 0; i < 3; i += 1) {
    assert.equal(throttle.waitMs('Ops', '10.0.0.1'), 0);
    throttle.failed('ops', '10.0.0.1');
    now += 1_000;
  }
  // Names compare without case; the oldest of the last 3 failures leaves the window at 1,060,000.
  assert.equal(throttle.waitMs('OPS', '10.0.0.2'), 1_060_000 - now);
  now = 1_060_001;
  assert.equal(throttle.waitMs('ops', '10.0.0.2'), 0);
  // Per address: 5 failures over several names lock the address, not the names elsewhere.
  for (const name of ['a', 'b', 'c', 'd', 'e']) throttle.failed(name, '10.0.0.9');
  assert.ok(throttle.waitMs('f', '10.0.0.9') > 0);
  assert.equal(throttle.waitMs('f', '10.0.0.8'), 0);
  // A success clears the name's own count (not the address's).
  throttle.failed('g', '10.0.0.7');
  throttle.failed('g', '10.0.0.7');
  throttle.succeeded('G');
  throttle.failed('g', '10.0.0.7');
  assert.equal(throttle.waitMs('g', '10.0.0.6'), 0);
});
