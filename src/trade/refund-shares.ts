/**
 * Who gives a refund back. A trade with splits paid several receivers (the seller the rest after
 * the splits); a refund takes the money back from each in proportion to what each received. The
 * proportion is kept on the cumulative total, so after any number of partial refunds every
 * receiver has given back within one minor unit of its exact share, and a refund of everything
 * left takes exactly what each still has of the trade. Rounding is largest remainder, ties to
 * the seller; whatever a cap moves goes to the seller first. Nobody gives back more than it got.
 */
import { strict as assert } from 'node:assert';
import type { Split } from './trade.js';

/** What one receiver got of a trade (the seller first), and what earlier refunds took back from it. */
export interface Receiver {
  readonly memberId: string;
  readonly received: bigint;
  readonly taken: bigint;
}

/** What each receiver got when `basis` was paid out: splits first, the seller the rest (as the payment and the escrow release pay). */
export function receiversOf(sellerId: string, splits: readonly Split[], basis: bigint, taken: ReadonlyMap<string, bigint>): Receiver[] {
  let left = basis;
  const paid: Receiver[] = [];
  for (const split of splits) {
    const received = split.amount < left ? split.amount : left;
    left -= received;
    paid.push({ memberId: split.memberId, received, taken: taken.get(split.memberId) ?? 0n });
  }
  return [{ memberId: sellerId, received: left, taken: taken.get(sellerId) ?? 0n }, ...paid];
}

/** The parts of a refund of `amount`, one per receiver (same order), summing to `amount` exactly. */
export function refundShares(receivers: readonly Receiver[], amount: bigint): bigint[] {
  assert(receivers.length > 0 && amount > 0n);
  const total = receivers.reduce((sum, r) => sum + r.received, 0n);
  const takenTotal = receivers.reduce((sum, r) => sum + r.taken, 0n);
  for (const r of receivers) assert(r.taken >= 0n && r.taken <= r.received, `receiver ${r.memberId} gave back more than it got`);
  assert(takenTotal + amount <= total, 'a refund never takes back more than the receivers got');
  const targets = cumulativeTargets(receivers, takenTotal + amount, total);
  const caps = receivers.map((r) => r.received - r.taken);
  const parts = receivers.map((r, i) => clamp(targets[i]! - r.taken, 0n, caps[i]!));
  // Caps (earlier refunds taken otherwise) may leave a difference: the seller absorbs it first.
  let diff = amount - parts.reduce((sum, p) => sum + p, 0n);
  for (let i = 0; i < parts.length && diff !== 0n; i += 1) {
    const step = diff > 0n ? min(diff, caps[i]! - parts[i]!) : -min(-diff, parts[i]!);
    parts[i] = parts[i]! + step;
    diff -= step;
  }
  assert.equal(diff, 0n, 'the refund parts sum to the refund');
  return parts;
}

/** Largest remainder of `cumulative` over the receivers by what each got; ties go to the earlier (the seller). */
function cumulativeTargets(receivers: readonly Receiver[], cumulative: bigint, total: bigint): bigint[] {
  const floors = receivers.map((r) => (cumulative * r.received) / total);
  const remainders = receivers.map((r) => (cumulative * r.received) % total);
  let left = cumulative - floors.reduce((sum, f) => sum + f, 0n);
  const order = receivers.map((_, i) => i).sort((a, b) => (remainders[b]! > remainders[a]! ? 1 : remainders[b]! < remainders[a]! ? -1 : a - b));
  for (const i of order) {
    if (left === 0n) break;
    floors[i] = floors[i]! + 1n;
    left -= 1n;
  }
  return floors;
}

function clamp(value: bigint, low: bigint, high: bigint): bigint {
  return value < low ? low : value > high ? high : value;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
