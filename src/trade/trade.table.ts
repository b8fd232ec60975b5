/** Row types of the trade schema. */
import type { ColumnType, Generated, Selectable } from 'kysely';

export type TradeKind = 'instant' | 'escrow' | 'recharge' | 'withdrawal' | 'transfer' | 'refund' | 'withdrawal_bounce' | 'exception_refund' | 'recharge_refund';

type Json<T> = ColumnType<T, string, string>;

/** A split as stored: amount as a decimal string (jsonb has no bigint). */
export interface StoredSplit {
  member_id: string;
  amount: string;
  memo?: string;
}

/** An exception the core handled by itself, recorded on the trade it concerns. */
export interface StoredException {
  kind: 'partial_payment' | 'duplicate_payment' | 'paid_after_close';
  amount: string;
  action: 'reversed' | 'refunded';
  payment_order_id: string;
  order_id?: string;
  at: string;
}

export interface TradeOrderTable {
  id: string;
  client_id: string;
  kind: TradeKind;
  out_no_space: 'trade' | 'refund' | 'biz' | null;
  out_no: string | null;
  request_hash: string | null;
  status: string;
  amount: bigint;
  currency: string;
  paid_amount: Generated<bigint>;
  refunded_amount: Generated<bigint>;
  payer_id: string | null;
  payee_id: string | null;
  splits: Json<StoredSplit[]>;
  subject: string | null;
  memo: string | null;
  scene: string | null;
  notify_url: string | null;
  card_id: string | null;
  speed: 't0' | 't1' | null;
  parent_id: string | null;
  root_id: string;
  payment_order_id: string | null;
  channel_order_id: string | null;
  exceptions: Json<StoredException[]>;
  context: Json<Record<string, unknown>>;
  timeout_at: Date | null;
  confirm_due_at: Date | null;
  settle_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  paid_at: Date | null;
  finished_at: Date | null;
  closed_at: Date | null;
}

export interface TradeDB {
  'trade.trade_order': TradeOrderTable;
}

export type TradeRow = Selectable<TradeOrderTable>;
