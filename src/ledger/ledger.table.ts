/** Row types of the ledger schema. */
import type { Generated, Selectable } from 'kysely';

export type AccountType = 'member' | 'merchant' | 'internal' | 'platform';
export type HotMode = 'none' | 'buffered' | 'sub_accounts';
export type HoldStatus = 'held' | 'posted' | 'released' | 'cancelled_before_try';

export interface AccountTable {
  id: string;
  type: AccountType;
  currency: string;
  code: string | null;
  owner: string | null;
  floor: bigint | null;
  posted: Generated<bigint>;
  frozen: Generated<bigint>;
  hot: Generated<HotMode>;
  sub_count: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SubAccountTable {
  account_id: string;
  slot: number;
  posted: Generated<bigint>;
  frozen: Generated<bigint>;
}

export interface VoucherTable {
  id: string;
  seq: Generated<bigint>;
  source: string;
  reference: string;
  content_hash: string;
  currency: string;
  memo: string | null;
  accounting_date: string;
  reversal_of: string | null;
  hold_id: string | null;
  created_at: Generated<Date>;
}

export interface EntryTable {
  id: Generated<bigint>;
  voucher_id: string;
  account_id: string;
  slot: number | null;
  amount: bigint;
  balance_after: bigint;
  accounting_date: string;
  created_at: Generated<Date>;
}

export interface PendingEntryTable {
  id: Generated<bigint>;
  voucher_id: string;
  account_id: string;
  amount: bigint;
  accounting_date: string;
  created_at: Generated<Date>;
}

export interface HoldTable {
  id: string;
  source: string;
  reference: string;
  content_hash: string;
  account_id: string | null;
  slot: number | null;
  amount: bigint;
  remaining: bigint;
  status: HoldStatus;
  expires_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface DailyBalanceTable {
  account_id: string;
  date: string;
  opening: bigint;
  debits: bigint;
  credits: bigint;
  closing: bigint;
}

export interface LedgerDB {
  'ledger.account': AccountTable;
  'ledger.sub_account': SubAccountTable;
  'ledger.voucher': VoucherTable;
  'ledger.entry': EntryTable;
  'ledger.pending_entry': PendingEntryTable;
  'ledger.hold': HoldTable;
  'ledger.daily_balance': DailyBalanceTable;
}

export type AccountRow = Selectable<AccountTable>;
export type EntryRow = Selectable<EntryTable>;
export type HoldRow = Selectable<HoldTable>;
export type VoucherRow = Selectable<VoucherTable>;
