/**
 * Turns a caller's voucher into a PreparedPosting: validated (balanced, known shapes), with a
 * content hash so a repeat under the same (source, reference) can be told from a conflict.
 */
import { isCurrency, isId, newId, sha256Hex } from '../platform/index.js';
import type { PreparedPosting } from './posting.repository.js';
import type { EntryInput, PostFromHoldInput, PostRefusal, VoucherInput } from './ledger.types.js';

/** Entries are bounded so sums of a batch stay far inside int8. */
const amountLimit = 1n << 60n;
const maxEntries = 100;
const maxKeyLength = 200;

type Prepared = { ok: true; posting: PreparedPosting } | { ok: false; error: PostRefusal; accountId?: string };

function validKey(source: string, reference: string): boolean {
  return source.length > 0 && reference.length > 0 && source.length <= maxKeyLength && reference.length <= maxKeyLength;
}

function checkEntries(entries: readonly EntryInput[]): { ok: true } | { ok: false; error: PostRefusal; accountId?: string } {
  if (entries.length === 0 || entries.length > maxEntries) return { ok: false, error: 'invalid_voucher' };
  for (const entry of entries) {
    if (typeof entry.amount !== 'bigint' || entry.amount === 0n || entry.amount >= amountLimit || entry.amount <= -amountLimit) {
      return { ok: false, error: 'invalid_voucher' };
    }
    if (!isId(entry.accountId)) return { ok: false, error: 'unknown_account', accountId: entry.accountId };
  }
  return { ok: true };
}

/** The hash of a flat list of strings (JSON keeps it unambiguous; no replacer: this runs per posting). */
function hashOf(parts: ReadonlyArray<string | null>): string {
  return sha256Hex(JSON.stringify(parts));
}

function entryParts(entries: ReadonlyArray<{ accountId: string; amount: bigint }>): string[] {
  const parts: string[] = [];
  for (const entry of entries) parts.push(entry.accountId, entry.amount.toString());
  return parts;
}

/** A plain voucher (or a reversal, with reversalOf). */
export function prepareVoucher(input: VoucherInput, reversalOf: string | null = null): Prepared {
  if (!validKey(input.source, input.reference) || !isCurrency(input.currency)) return { ok: false, error: 'invalid_voucher' };
  const checked = checkEntries(input.entries);
  if (!checked.ok) return checked;
  if (input.entries.length < 2) return { ok: false, error: 'invalid_voucher' };
  if (input.entries.reduce((sum, e) => sum + e.amount, 0n) !== 0n) return { ok: false, error: 'unbalanced' };
  const entries = input.entries.map((e) => ({ accountId: e.accountId, amount: e.amount }));
  const memo = input.memo ?? null;
  return {
    ok: true,
    posting: {
      voucherId: newId(),
      source: input.source,
      reference: input.reference,
      hash: hashOf(['voucher', input.currency, memo, reversalOf, ...entryParts(entries)]),
      currency: input.currency,
      memo,
      reversalOf,
      hold: null,
      entries,
    },
  };
}

/** A voucher that takes its debit from a hold: the hold's account gives sum(to). */
export function prepareFromHold(input: PostFromHoldInput): Prepared {
  if (!validKey(input.source, input.reference) || !validKey(input.hold.source, input.hold.reference) || !isCurrency(input.currency)) {
    return { ok: false, error: 'invalid_voucher' };
  }
  const checked = checkEntries(input.to);
  if (!checked.ok) return checked;
  // `to` may hold debits of other accounts too (a coupon's issuer paying part of a trade with
  // the buyer's hold): what the hold gives is what `to` sums to, and it must be positive.
  const amount = input.to.reduce((sum, e) => sum + e.amount, 0n);
  if (amount <= 0n) return { ok: false, error: 'invalid_voucher' };
  const complete = input.complete ?? true;
  const to = input.to.map((e) => ({ accountId: e.accountId, amount: e.amount }));
  const memo = input.memo ?? null;
  return {
    ok: true,
    posting: {
      voucherId: newId(),
      source: input.source,
      reference: input.reference,
      hash: hashOf(['from_hold', input.currency, memo, input.hold.source, input.hold.reference, complete ? 'complete' : 'partial', ...entryParts(to)]),
      currency: input.currency,
      memo,
      reversalOf: null,
      hold: { source: input.hold.source, reference: input.hold.reference, amount, complete },
      entries: [{ accountId: null, amount: -amount }, ...to],
    },
  };
}

/** The content hash of a freeze, so a repeat with other content is a conflict. */
export function freezeHash(accountId: string, currency: string, amount: bigint, expiresAt: Date | undefined): string {
  return hashOf(['freeze', accountId, currency, amount.toString(), expiresAt?.toISOString() ?? null]);
}
