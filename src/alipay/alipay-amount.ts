/**
 * Alipay amounts: decimal yuan with at most two decimals, in [0.01, the configured maximum].
 * Merchants send strings ("88.88") or, often, JSON numbers (88.88). A number is read through its
 * shortest round-trip text: every valid amount has at most 12 significant digits, and any decimal
 * of at most 15 significant digits comes back from a double as exactly the digits written.
 */
import { formatDecimal, parseDecimal } from '../platform/index.js';

export type AmountResult = { ok: true; amount: bigint } | { ok: false; reason: 'missing' | 'malformed' | 'out_of_range' };

export function parseYuan(value: unknown, maxMinor: bigint): AmountResult {
  if (value === undefined || value === null || value === '') return { ok: false, reason: 'missing' };
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return { ok: false, reason: 'malformed' };
  // String(n) writes 1e21 and above, or below 1e-6, in exponent form: never a valid amount.
  const amount = /^\d{1,13}(\.\d{1,2})?$/.test(text) ? parseDecimal(text, 'CNY') : undefined;
  if (amount === undefined) return { ok: false, reason: 'malformed' };
  if (amount <= 0n || amount > maxMinor) return { ok: false, reason: 'out_of_range' };
  return { ok: true, amount };
}

/** Minor units → Alipay's "88.88". */
export function formatYuan(amount: bigint): string {
  return formatDecimal(amount, 'CNY');
}
