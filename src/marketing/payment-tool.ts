/** Coupons and red packets as payment tools: domain types and their row mapper. */
import type { ToolKind, ToolRow } from './marketing.table.js';

export type { ToolKind };

/** A coupon or red packet issued to a member, worth `amount` when used as a payment tool. */
export interface PaymentTool {
  readonly id: string;
  readonly clientId: string;
  readonly memberId: string;
  readonly kind: ToolKind;
  readonly amount: bigint;
  readonly currency: string;
  readonly status: 'available' | 'reserved' | 'used' | 'expired';
  readonly expiresAt: Date | null;
  readonly createdAt: Date;
}

export type TryReserveInput = { readonly activity: string; readonly toolId: string; readonly memberId: string; readonly clientId: string };
export type TryReserveResult =
  | { readonly ok: true; readonly amount: bigint }
  | { readonly ok: false; readonly reason: 'not_found' | 'not_available' | 'expired' | 'cancelled' };

/** The marketing TCC participant: try reserves a tool, confirm uses it, cancel gives it back. */
export interface MarketingParticipant {
  tryReserve(input: TryReserveInput): Promise<TryReserveResult>;
  /** reserved → used; repeating it is a no-op. */
  confirm(activity: string, toolId: string): Promise<void>;
  /** reserved → available; a cancel with no try leaves a tombstone that refuses a late try. */
  cancel(activity: string, toolId: string): Promise<void>;
}

export const marketingCurrency = 'CNY';
export const marketingAccountCode = `platform:marketing:${marketingCurrency}`;
export const issuedAccountCode = `platform:marketing-issued:${marketingCurrency}`;

/** An 'issuing' tool is not yet a tool: its money is still being posted. */
export function toPaymentTool(row: ToolRow): PaymentTool | undefined {
  if (row.status === 'issuing') return undefined;
  return {
    id: row.id,
    clientId: row.client_id,
    memberId: row.member_id,
    kind: row.kind,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
  };
}
