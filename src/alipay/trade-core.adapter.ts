/**
 * The TradeCorePort over Paycore's public services: members (src/member) and the trade core
 * (src/trade). Paycore's refusals (AppError codes or result reasons) become port codes here.
 */
import type { MemberService } from '../member/index.js';
import { AppError, type PlatformContext } from '../platform/index.js';
import type { TradeRow, TradeSubsystem } from '../trade/index.js';
import type { PortRefund, PortResult, PortTrade, PortTradeStatus, PortTransfer, TradeCorePort } from './trade-core.port.js';

/** The part of the port that needs the trade core. */
export type TradePart = Omit<TradeCorePort, 'ensureMerchant' | 'memberExists' | 'redeemPaymentCode' | 'activeCardOwner'>;

/** Runs a core call, turning its expected refusals (AppError) into port codes. */
export async function refusalsAsCodes<T>(call: () => Promise<T>): Promise<PortResult<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    if (error instanceof AppError && error.status < 500) return { ok: false, code: error.code };
    if (error instanceof AppError && error.code === 'DEPENDENCY_UNAVAILABLE') return { ok: false, code: error.code };
    throw error;
  }
}

export function tradeCorePort(members: MemberService, trades: TradePart): TradeCorePort {
  return {
    async ensureMerchant(ctx: PlatformContext, clientId: string, name: string) {
      // Idempotent by (client, external id): concurrent first requests of an app find one member.
      const member = await members.create({ ...ctx, client: clientId }, { type: 'merchant', name, externalId: 'alipay-app-seller' });
      return member.id;
    },
    async memberExists(clientId, memberId) {
      if (!/^[0-9a-f-]{36}$/.test(memberId)) return false;
      return (await members.get(clientId, memberId)) !== undefined;
    },
    redeemPaymentCode: (clientId, authCode) => members.redeemPaymentCode(clientId, authCode),
    async activeCardOwner(clientId, cardId) {
      if (!/^[0-9a-f-]{36}$/.test(cardId)) return undefined;
      const card = await members.getCard(clientId, cardId);
      return card?.status === 'active' ? card.memberId : undefined;
    },
    ...trades,
  };
}

function toPortTrade(row: TradeRow): PortTrade {
  return {
    id: row.id,
    outTradeNo: row.out_no ?? '',
    status: row.status as PortTradeStatus,
    amount: row.amount,
    paidAmount: row.paid_amount,
    refundedAmount: row.refunded_amount,
    buyerId: row.payer_id ?? undefined,
    subject: row.subject ?? undefined,
    createdAt: row.created_at,
    paidAt: row.paid_at ?? undefined,
  };
}

function toPortRefund(row: TradeRow): PortRefund {
  return {
    id: row.id,
    tradeId: row.parent_id ?? '',
    amount: row.amount,
    status: row.status as PortRefund['status'],
    createdAt: row.created_at,
    finishedAt: row.finished_at ?? undefined,
  };
}

const tradeKinds = ['instant', 'escrow'] as const;

/** The trade part of the port over the trade core's services (src/trade/index.ts). */
export function tradePartOf(core: Pick<TradeSubsystem, 'trades' | 'refunds' | 'funds'>): TradePart {
  const { trades, refunds, funds } = core;
  return {
    createTrade: (ctx, input) =>
      refusalsAsCodes(async () => {
        const { row } = await trades.create(ctx, input.clientId, {
          type: 'instant',
          outTradeNo: input.outTradeNo,
          buyerId: input.buyerId,
          sellerId: input.sellerId,
          amount: input.amount,
          currency: 'CNY',
          subject: input.subject,
          splits: [],
          ...(input.timeoutSeconds !== undefined ? { timeoutSeconds: input.timeoutSeconds } : {}),
          scene: input.scene,
        });
        return toPortTrade(row);
      }),
    payWithBalance: (ctx, clientId, tradeId) => refusalsAsCodes(async () => toPortTrade(await trades.pay(ctx, clientId, tradeId, { methods: [{ tool: 'balance' }] }))),
    getTrade: async (clientId, tradeId) => {
      const row = await trades.get(clientId, tradeId);
      return row ? toPortTrade(row) : undefined;
    },
    findTrade: async (clientId, outTradeNo) => {
      const row = await trades.byOutTradeNo(clientId, outTradeNo);
      return row && (tradeKinds as readonly string[]).includes(row.kind) ? toPortTrade(row) : undefined;
    },
    closeTrade: (_ctx, clientId, tradeId) => refusalsAsCodes(async () => toPortTrade(await trades.closeByClient(clientId, tradeId))),
    refund: (ctx, clientId, tradeId, input) =>
      refusalsAsCodes(async () => {
        const { row } = await refunds.refund(ctx, clientId, tradeId, { outRefundNo: input.outRefundNo, amount: input.amount, ...(input.reason ? { reason: input.reason } : {}) }, tradeKinds);
        return toPortRefund(row);
      }),
    getRefund: async (clientId, refundId) => {
      const row = await refunds.get(clientId, refundId);
      return row ? toPortRefund(row) : undefined;
    },
    transfer: (ctx, clientId, input) =>
      refusalsAsCodes(async () => {
        const { row } = await funds.transfer(ctx, clientId, { outBizNo: input.outBizNo, fromId: input.fromMemberId, toId: input.toMemberId, amount: input.amount, ...(input.memo ? { memo: input.memo } : {}) });
        return { id: row.id, status: row.status as PortTransfer['status'], createdAt: row.created_at };
      }),
    withdraw: (ctx, clientId, input) =>
      refusalsAsCodes(async () => {
        const { row } = await funds.withdraw(ctx, clientId, { outBizNo: input.outBizNo, memberId: input.memberId, cardId: input.cardId, amount: input.amount, speed: 't0' });
        return { id: row.id, status: row.status as PortTransfer['status'], createdAt: row.created_at };
      }),
  };
}
