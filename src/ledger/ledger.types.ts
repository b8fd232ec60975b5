/** The ledger's domain types: what callers pass in and get back. Amounts are bigint minor units. */
import type { AccountType, HoldStatus, HotMode } from './ledger.table.js';

export type { AccountType, HoldStatus, HotMode };

/** An account's metadata and its true balances (anything still buffered included). */
export interface Account {
  readonly id: string;
  readonly type: AccountType;
  readonly currency: string;
  readonly code: string | null;
  readonly owner: string | null;
  /** Minimum of available (posted − frozen); null = no floor. */
  readonly floor: bigint | null;
  readonly hot: HotMode;
  readonly subCount: number;
  readonly posted: bigint;
  readonly frozen: bigint;
  readonly available: bigint;
}

export interface OpenAccountInput {
  readonly type: AccountType;
  readonly currency: string;
  /** A unique name for well-known accounts (e.g. `platform:fees:CNY`); opening it twice returns the first. */
  readonly code?: string;
  readonly owner?: string;
  /** Default: 0 for member and merchant accounts, none for internal and platform accounts. */
  readonly floor?: bigint | null;
  readonly hot?: HotMode;
  /** Slots of a sub_accounts account (default 8). */
  readonly subCount?: number;
}

/** One line of a voucher: a signed amount, positive increases the account's balance. */
export interface EntryInput {
  readonly accountId: string;
  readonly amount: bigint;
}

export interface VoucherInput {
  /** The system that posts (e.g. `trade`, `payment`); with reference, the idempotency key. */
  readonly source: string;
  readonly reference: string;
  readonly currency: string;
  readonly entries: readonly EntryInput[];
  readonly memo?: string;
}

export interface PostFromHoldInput {
  /** The hold's key, as given to freeze(). */
  readonly hold: { readonly source: string; readonly reference: string };
  /** The voucher's own idempotency key. */
  readonly source: string;
  readonly reference: string;
  readonly currency: string;
  /**
   * Where the money goes; the amounts sum to what is taken from the hold (more than 0). Lines may
   * be debits of other accounts, checked against their floors like any voucher's: one voucher
   * then moves the hold's money and theirs together.
   */
  readonly to: readonly EntryInput[];
  /** True (default): the rest of the hold is released; false: it stays held. */
  readonly complete?: boolean;
  readonly memo?: string;
}

export interface FreezeInput {
  readonly source: string;
  readonly reference: string;
  readonly accountId: string;
  readonly currency: string;
  readonly amount: bigint;
  /** When the expiry worker releases the hold; undefined = never. */
  readonly expiresAt?: Date;
}

export interface HoldKey {
  readonly source: string;
  readonly reference: string;
}

/** Expected refusals: values, never exceptions. */
export type PostRefusal =
  | 'insufficient_funds'
  | 'unknown_account'
  | 'currency_mismatch'
  | 'duplicate_conflict'
  | 'unbalanced'
  | 'invalid_voucher'
  | 'hold_not_found'
  | 'hold_not_held'
  | 'hold_insufficient'
  | 'already_reversed'
  | 'voucher_not_found';

export type PostResult =
  | { readonly ok: true; readonly voucherId: string; readonly replayed: boolean }
  | { readonly ok: false; readonly error: PostRefusal; readonly accountId?: string };

export type FreezeRefusal = 'insufficient_funds' | 'unknown_account' | 'currency_mismatch' | 'duplicate_conflict' | 'hold_cancelled' | 'invalid_amount';
export type FreezeResult =
  | { readonly ok: true; readonly holdId: string; readonly replayed: boolean }
  | { readonly ok: false; readonly error: FreezeRefusal };

/** `cancelled_before_try`: no such hold existed; a tombstone now refuses a late freeze. */
export type ReleaseResult =
  | { readonly ok: true; readonly holdId: string; readonly status: 'released' | 'cancelled_before_try'; readonly replayed: boolean }
  | { readonly ok: false; readonly error: 'hold_already_posted' };

export interface Hold {
  readonly id: string;
  readonly source: string;
  readonly reference: string;
  readonly accountId: string | null;
  readonly amount: bigint;
  readonly remaining: bigint;
  readonly status: HoldStatus;
  readonly expiresAt: Date | null;
}

export interface StatementLine {
  readonly entryId: string;
  readonly voucherId: string;
  readonly amount: bigint;
  /** The account's balance after this line (a sub_accounts account: its slot's balance). */
  readonly balanceAfter: bigint;
  readonly slot: number | null;
  readonly accountingDate: string;
  readonly createdAt: Date;
}

export interface Statement {
  readonly lines: StatementLine[];
  /** Pass as `after` for the next (older) page; undefined on the last page. */
  readonly nextCursor: string | undefined;
  /** Entries of a buffered account not yet folded (they are in the balance, not yet in lines). */
  readonly buffered: number;
}

export interface DailyBalance {
  readonly accountId: string;
  readonly date: string;
  readonly opening: bigint;
  readonly debits: bigint;
  readonly credits: bigint;
  readonly closing: bigint;
}

export interface CheckReport {
  readonly balanced: boolean;
  readonly by_currency: Record<string, { debits: bigint; credits: bigint; balance_sum: bigint }>;
  /** Accounts whose available balance is below their floor. */
  readonly negative_accounts: string[];
  readonly unbalanced_vouchers: string[];
  /** Accounts (or slots) whose balance differs from the sum of their entries or their last balance_after. */
  readonly mismatched_accounts: string[];
  /** Accounts (or slots) whose frozen differs from the remaining of their open holds. */
  readonly frozen_mismatches: string[];
  readonly buffered_entries: number;
}
