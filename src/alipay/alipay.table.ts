/** Row types of the alipay schema. */
import type { Generated, Selectable } from 'kysely';

export interface AppTable {
  app_id: string;
  client_id: string;
  name: string;
  merchant_public_key: string;
  platform_public_key: string;
  platform_private_key: string;
  seller_member_id: string | null;
  created_at: Generated<Date>;
}

export interface TradeLinkTable {
  trade_id: string;
  app_id: string;
  out_trade_no: string;
  method: string;
  subject: string;
  notify_url: string | null;
  created_at: Generated<Date>;
}

export interface RefundLinkTable {
  refund_id: string;
  trade_id: string;
  out_request_no: string;
  amount: bigint;
  created_at: Generated<Date>;
}

export interface TransferLinkTable {
  transfer_id: string;
  app_id: string;
  out_biz_no: string;
  amount: bigint;
  created_at: Generated<Date>;
}

export interface PreOrderTable {
  id: string;
  app_id: string;
  out_trade_no: string;
  method: string;
  amount: bigint;
  subject: string;
  notify_url: string | null;
  timeout_seconds: number | null;
  status: 'waiting' | 'closed';
  trade_id: string | null;
  expires_at: Date;
  created_at: Generated<Date>;
}

export interface V3NonceTable {
  app_id: string;
  nonce: string;
  expires_at: Date;
}

export interface AlipayDB {
  'alipay.v3_nonce': V3NonceTable;
  'alipay.pre_order': PreOrderTable;
  'alipay.app': AppTable;
  'alipay.trade_link': TradeLinkTable;
  'alipay.refund_link': RefundLinkTable;
  'alipay.transfer_link': TransferLinkTable;
}
export type AppRow = Selectable<AppTable>;
export type PreOrderRow = Selectable<PreOrderTable>;
export type TradeLinkRow = Selectable<TradeLinkTable>;
export type RefundLinkRow = Selectable<RefundLinkTable>;
export type TransferLinkRow = Selectable<TransferLinkTable>;
