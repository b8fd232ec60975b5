/**
 * What the payment core needs from its neighbours, as the contract (notes/issue4-contract.md)
 * states it: member, marketing, risk and the channel gateway. The real services satisfy these
 * structurally; the runtime wires them in, and tests may put a channel of their own in place.
 */
import type { Transaction } from 'kysely';
import type { PlatformContext } from '../platform/index.js';

export interface MemberInfo {
  readonly id: string;
  readonly clientId: string;
  readonly accountId: string;
}

export interface CardInfo {
  readonly id: string;
  readonly memberId: string;
  readonly bank: string;
  readonly agreement: string;
}

export interface MemberPort {
  get(clientId: string, memberId: string): Promise<MemberInfo | undefined>;
  getById(memberId: string): Promise<MemberInfo | undefined>;
  verifyPaymentPassword(memberId: string, password: string): Promise<'ok' | 'wrong' | 'locked' | 'not_set'>;
  getActiveCard(memberId: string, cardId: string): Promise<CardInfo | undefined>;
}

export interface ToolInfo {
  readonly id: string;
  readonly clientId: string;
  readonly memberId: string;
  readonly kind: 'coupon' | 'red_packet';
  readonly amount: bigint;
  readonly currency: string;
  readonly status: 'available' | 'reserved' | 'used' | 'expired';
  readonly expiresAt: Date | null;
}

export type ReserveResult = { ok: true; amount: bigint } | { ok: false; reason: 'not_found' | 'not_available' | 'expired' | 'cancelled' };

/** Marketing's TCC participant operations (fenced on its side). */
export interface MarketingParticipant {
  tryReserve(input: { activity: string; toolId: string; memberId: string; clientId: string }): Promise<ReserveResult>;
  confirm(activity: string, toolId: string): Promise<void>;
  cancel(activity: string, toolId: string): Promise<void>;
}

export interface MarketingPort extends MarketingParticipant {
  get(clientId: string, id: string): Promise<ToolInfo | undefined>;
  issuedAccountId(): Promise<string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  inTransaction(trx: Transaction<any>): MarketingParticipant;
}

export type RiskTool = 'balance' | 'card' | 'coupon' | 'red_packet' | 'recharge' | 'withdrawal' | 'transfer';

export interface RiskPort {
  assess(input: { clientId: string; memberId: string; tool: RiskTool; amount: bigint; at: Date }): Promise<
    { ok: true; passwordRequired: boolean } | { ok: false; reason: 'blacklisted' | 'limit_exceeded' }
  >;
  record(input: { memberId: string; tool: RiskTool; amount: bigint; at: Date; reference: string }): Promise<void>;
  /** Takes back what `record` counted under these references (the payment did not happen). */
  release(references: readonly string[]): Promise<void>;
}

/** A channel order as the payment core follows it. */
export interface ChannelOrderView {
  readonly id: string;
  /** The activity (payment order) the order serves. */
  readonly instructionId?: string;
  readonly bank: string;
  readonly amount: bigint;
  readonly status: 'processing' | 'unknown' | 'success' | 'failed';
}

export type ChannelStart = { ok: true; order: ChannelOrderView } | { ok: false; reason: string };

/** The channel gateway's money services; every call returns at once, results come later. */
export interface ChannelPort {
  pay(input: { instructionId: string; agreementId: string; amount: bigint; currency: string; ctx: PlatformContext }): Promise<ChannelStart>;
  payout(input: { instructionId: string; agreementId: string; amount: bigint; currency: string; ctx: PlatformContext }): Promise<ChannelStart>;
  refund(input: { instructionId: string; originalOrderId: string; amount: bigint; currency: string; ctx: PlatformContext }): Promise<ChannelStart>;
  getOrder(id: string): Promise<ChannelOrderView | undefined>;
  /** Told when an order ends in this process; the recovery worker polls for the rest. */
  onResult(listener: (order: ChannelOrderView) => void): void;
}
