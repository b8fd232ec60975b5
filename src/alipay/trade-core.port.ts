/**
 * What the gateway needs from the rest of Paycore, in its own terms. The runtime wires these
 * onto the member and trade services' public APIs (trade-core.adapter.ts); nothing here goes
 * over Paycore's own HTTP. Refusals come back as Paycore error codes (the registry's names),
 * which alipay-methods.ts turns into Alipay sub codes.
 */
import type { PlatformContext } from '../platform/index.js';

export type PortResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: string };

export type PortTradeStatus = 'wait_pay' | 'paying' | 'success' | 'finished' | 'closed';

export interface PortTrade {
  readonly id: string;
  readonly outTradeNo: string;
  readonly status: PortTradeStatus;
  readonly amount: bigint;
  readonly paidAmount: bigint;
  readonly refundedAmount: bigint;
  readonly buyerId: string | undefined;
  readonly subject: string | undefined;
  readonly createdAt: Date;
  readonly paidAt: Date | undefined;
}

export interface PortRefund {
  readonly id: string;
  readonly tradeId: string;
  readonly amount: bigint;
  readonly status: 'processing' | 'success' | 'failed';
  readonly createdAt: Date;
  readonly finishedAt: Date | undefined;
}

export interface PortTransfer {
  readonly id: string;
  /** A withdrawal paid out and then returned by the bank is `bounced`. */
  readonly status: 'processing' | 'success' | 'failed' | 'bounced';
  readonly createdAt: Date;
}

export interface CreateTradeInput {
  readonly clientId: string;
  readonly outTradeNo: string;
  readonly amount: bigint;
  readonly subject: string;
  readonly buyerId: string;
  readonly sellerId: string;
  readonly timeoutSeconds: number | undefined;
  readonly scene: string;
}

export interface TradeCorePort {
  /** The app's merchant member (created once per client, idempotently). */
  ensureMerchant(ctx: PlatformContext, clientId: string, name: string): Promise<string>;
  memberExists(clientId: string, memberId: string): Promise<boolean>;
  /** A member's one-time payment code → the member id (consumes the code). */
  redeemPaymentCode(clientId: string, authCode: string): Promise<string | undefined>;
  createTrade(ctx: PlatformContext, input: CreateTradeInput): Promise<PortResult<PortTrade>>;
  /** Pays a trade from its buyer's balance (a till's scan). */
  payWithBalance(ctx: PlatformContext, clientId: string, tradeId: string, buyerId: string): Promise<PortResult<PortTrade>>;
  getTrade(clientId: string, tradeId: string): Promise<PortTrade | undefined>;
  findTrade(clientId: string, outTradeNo: string): Promise<PortTrade | undefined>;
  closeTrade(ctx: PlatformContext, clientId: string, tradeId: string): Promise<PortResult<PortTrade>>;
  refund(ctx: PlatformContext, clientId: string, tradeId: string, input: { outRefundNo: string; amount: bigint; reason: string | undefined }): Promise<PortResult<PortRefund>>;
  getRefund(clientId: string, refundId: string): Promise<PortRefund | undefined>;
  transfer(ctx: PlatformContext, clientId: string, input: { outBizNo: string; fromMemberId: string; toMemberId: string; amount: bigint; memo: string | undefined }): Promise<PortResult<PortTransfer>>;
  /** The owner of an active card of the client (cards are known by id: numbers are never kept). */
  activeCardOwner(clientId: string, cardId: string): Promise<string | undefined>;
  /** Pays a member's balance out to its own card (a T+0 withdrawal through the channel). */
  withdraw(ctx: PlatformContext, clientId: string, input: { outBizNo: string; memberId: string; cardId: string; amount: bigint }): Promise<PortResult<PortTransfer>>;
}
