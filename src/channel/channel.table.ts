/** Row types of the channel schema. */
import type { ColumnType, Generated, Selectable } from 'kysely';

export type OrderService = 'pay' | 'refund' | 'payout';
export type ChannelService = OrderService | 'sign';
export type OrderStatus = 'processing' | 'unknown' | 'success' | 'failed';

type Json = ColumnType<Record<string, unknown>, string, string>;

export interface ChannelTable {
  id: string;
  code: string;
  bank: string;
  name: string;
  services: ChannelService[];
  card_bins: string[];
  currency: string;
  min_amount: bigint;
  max_amount: bigint;
  cost_rate_bp: number;
  cost_fixed: bigint;
  enabled: boolean;
  switched_by: string | null;
  switched_at: Date | null;
  created_at: Generated<Date>;
}

export interface CardAgreementTable {
  id: string;
  member_ref: string;
  bank: string;
  channel_id: string;
  card_hash: string;
  card_bin: string;
  last4: string;
  network: boolean;
  status: 'pending_verification' | 'active' | 'failed';
  bank_sign_id: string | null;
  agreement_no: string | null;
  fail_reason: string | null;
  created_at: Generated<Date>;
  verified_at: Date | null;
}

export interface ChannelOrderTable {
  id: string;
  instruction_id: string;
  service: OrderService;
  channel_id: string;
  bank: string;
  agreement_id: string | null;
  original_order_id: string | null;
  amount: bigint;
  currency: string;
  status: OrderStatus;
  send_state: Generated<'pending' | 'sent'>;
  send_claimed_until: Date | null;
  rerouted_from: Generated<string[]>;
  result_code: string | null;
  result_message: string | null;
  bank_ref: string | null;
  resolved_by: 'reply' | 'callback' | 'query' | 'gateway' | null;
  query_attempts: Generated<number>;
  next_query_at: Date | null;
  ctx: Json;
  created_at: Generated<Date>;
  sent_at: Date | null;
  finished_at: Date | null;
}

export interface AnomalyTable {
  id: string;
  bank: string;
  order_id: string | null;
  kind: 'forged_callback' | 'conflicting_result' | 'unknown_order' | 'amount_mismatch';
  detail: Json;
  created_at: Generated<Date>;
}

export interface OutboxTable {
  seq: Generated<bigint>;
  id: string;
  type: string;
  key: string;
  payload: Json;
  context: Json;
  broadcast: Generated<boolean>;
  occurred_at: Generated<Date>;
}

export interface ChannelDB {
  'channel.channel': ChannelTable;
  'channel.card_agreement': CardAgreementTable;
  'channel.channel_order': ChannelOrderTable;
  'channel.anomaly': AnomalyTable;
  'channel.outbox': OutboxTable;
}

export type ChannelRow = Selectable<ChannelTable>;
export type CardAgreementRow = Selectable<CardAgreementTable>;
export type ChannelOrderRow = Selectable<ChannelOrderTable>;
