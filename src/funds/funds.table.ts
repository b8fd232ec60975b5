/** Row types of the funds schema. */
import type { ColumnType, Generated, Selectable } from 'kysely';

type Json = ColumnType<unknown, string, string>;

export interface GlAccountTable {
  account_id: string;
  type: string;
  code: string | null;
  owner: string | null;
  currency: string;
  subject: string;
}

export interface GlVoucherTable {
  voucher_id: string;
  ledger_seq: bigint;
  source: string;
  reference: string;
  currency: string;
  ledger_date: ColumnType<string, string, string>;
  gl_date: ColumnType<string, string, string>;
  balanced: boolean;
  created_at: Date;
}

export interface GlPostingTable {
  voucher_id: string;
  account_id: string;
  subject: string;
  currency: string;
  gl_date: ColumnType<string, string, string>;
  amount: bigint;
}

export interface GlCursorTable {
  name: string;
  seq: bigint;
  gap_seq: bigint | null;
  gap_since: Date | null;
}

export interface DayCloseTable {
  date: ColumnType<string, string, string>;
  closed_at: Generated<Date>;
  closed_by: string;
  vouchers: number;
}

export interface ClosedBalanceTable {
  date: ColumnType<string, string, string>;
  currency: string;
  subject: string;
  opening: bigint;
  debits: bigint;
  credits: bigint;
  closing: bigint;
}

export interface ClearingItemTable {
  order_id: string;
  instruction_id: string;
  bank: string;
  service: 'pay' | 'refund' | 'payout';
  amount: bigint;
  currency: string;
  bank_ref: string | null;
  finished_at: Date | null;
  status: Generated<'open' | 'cleared' | 'corrected'>;
  cleared_by: string | null;
  created_at: Generated<Date>;
}

export interface ReconRunTable {
  id: string;
  bank: string;
  date: ColumnType<string, string, string>;
  file_name: string;
  body_sha256: string;
  lines: number;
  matched: number;
  ours_only: number;
  theirs_only: number;
  amount_differs: number;
  settled_amount: bigint;
  status: 'clearing' | 'done';
  settlement_voucher_id: string | null;
  created_by: string;
  created_at: Generated<Date>;
  finished_at: Date | null;
}

export type DiscrepancyKind = 'ours_only' | 'theirs_only' | 'amount_differs';

export interface DiscrepancyTable {
  id: string;
  run_id: string;
  bank: string;
  date: ColumnType<string, string, string>;
  kind: DiscrepancyKind;
  request_id: string;
  service: string;
  our_amount: bigint | null;
  their_amount: bigint | null;
  currency: string;
  proposal: Json;
  status: Generated<'open' | 'accepted'>;
  voucher_id: string | null;
  accepted_by: string | null;
  accepted_at: Date | null;
  created_at: Generated<Date>;
}

export interface TradeCheckTable {
  trade_id: string;
  payment_id: string | null;
  trade_type: string | null;
  client_id: string | null;
  seller_id: string | null;
  buyer_id: string | null;
  amount: bigint;
  card_amount: Generated<bigint>;
  bank: string | null;
  currency: string;
  paid_at: Date;
  status: Generated<'open' | 'ok' | 'gap'>;
  missing: Generated<string[]>;
  checked_at: Date | null;
  flagged_at: Date | null;
}

export interface FeeRateTable {
  merchant_id: string;
  rate_bp: number;
  updated_at: Generated<Date>;
}

export interface MerchantSettlementTable {
  account_id: string;
  date: ColumnType<string, string, string>;
  merchant_id: string;
  gross: bigint;
  rate_bp: number;
  fee: bigint;
  net: bigint;
  status: 'pending' | 'posted' | 'refused';
  refusal: string | null;
  voucher_id: string | null;
  posted_date: ColumnType<string | null, string | null, string | null>;
  created_at: Generated<Date>;
}

export interface SettlementDayTable {
  date: ColumnType<string, string, string>;
  merchants: number;
  finished_at: Generated<Date>;
}

export interface FundsDB {
  'funds.gl_account': GlAccountTable;
  'funds.gl_voucher': GlVoucherTable;
  'funds.gl_posting': GlPostingTable;
  'funds.gl_cursor': GlCursorTable;
  'funds.day_close': DayCloseTable;
  'funds.closed_balance': ClosedBalanceTable;
  'funds.clearing_item': ClearingItemTable;
  'funds.recon_run': ReconRunTable;
  'funds.discrepancy': DiscrepancyTable;
  'funds.trade_check': TradeCheckTable;
  'funds.fee_rate': FeeRateTable;
  'funds.merchant_settlement': MerchantSettlementTable;
  'funds.settlement_day': SettlementDayTable;
}

export type ReconRunRow = Selectable<ReconRunTable>;
export type DiscrepancyRow = Selectable<DiscrepancyTable>;
export type TradeCheckRow = Selectable<TradeCheckTable>;
export type MerchantSettlementRow = Selectable<MerchantSettlementTable>;
export type ClearingItemRow = Selectable<ClearingItemTable>;
