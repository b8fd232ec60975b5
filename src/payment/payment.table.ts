/** Row types of the payment schema. */
import type { ColumnType, Generated, Selectable } from 'kysely';

export type PaymentKind = 'recharge' | 'withdraw' | 'refund' | 'transfer';
export type PaymentStatus = 'processing' | 'success' | 'failed';
export type ActivityStatus = 'trying' | 'awaiting_channel' | 'confirming' | 'cancelling' | 'confirmed' | 'cancelled';
export type ChannelState = 'pending' | 'success' | 'failed' | 'settled';

/** jsonb: written as a JSON string, read back parsed. */
type Json<T> = ColumnType<T, string, string>;

export interface PaymentOrderTable {
  id: string;
  client_id: string;
  trade_id: string;
  kind: PaymentKind;
  business: string;
  amount: bigint;
  currency: string;
  methods: Json<StoredMethod[]>;
  status: PaymentStatus;
  tcc: 'one_phase' | 'two_phase';
  channel_order_id: string | null;
  created_at: Generated<Date>;
  finished_at: Date | null;
}

/** One tool's part of a payment as stored (amount as a decimal string: jsonb has no bigint). */
export interface StoredMethod {
  tool: string;
  amount: string;
  reference?: string;
  institution?: string;
}

export interface ActivityTable {
  id: string;
  business: string;
  business_ref: string;
  status: ActivityStatus;
  plan: Json<unknown>;
  channel_order_id: string | null;
  channel_bank: string | null;
  channel_state: ChannelState | null;
  channel_due_at: Date | null;
  cancel_reason: string | null;
  attempts: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ActivityLogTable {
  id: Generated<bigint>;
  activity_id: string;
  phase: string;
  detail: string | null;
  at: Generated<Date>;
}

export interface PaymentDB {
  'payment.payment_order': PaymentOrderTable;
  'payment.activity': ActivityTable;
  'payment.activity_log': ActivityLogTable;
}

export type PaymentOrderRow = Selectable<PaymentOrderTable>;
export type ActivityRow = Selectable<ActivityTable>;
