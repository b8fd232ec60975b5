/**
 * The payment message report (支付消息报): one event per completed payment carrying the trade
 * and payment facts, for downstream systems (accounting, clearing, risk, data) to subscribe to
 * instead of calling the core. The trade core emits it in the transaction that marks the payment
 * done. Amounts in the payload are decimal strings of minor units, like every event payload.
 */
import type { Transaction } from 'kysely';
import type { PlatformContext } from '../platform/index.js';
import { emit } from './outbox.js';

export const paymentReportedTopic = 'payment.reported';

/** What the trade core knows when a payment completes. */
export interface PaymentReport {
  readonly trade: {
    readonly id: string;
    readonly outTradeNo: string;
    readonly type: string;
    readonly clientId: string;
    readonly buyerId: string;
    readonly sellerId: string;
    readonly amount: bigint;
    readonly currency: string;
    readonly status: string;
  };
  readonly payment: {
    readonly id: string;
    readonly amount: bigint;
    readonly currency: string;
    readonly paidAt: Date;
    /** Each tool that paid a part: balance, card (with its institution), coupon, red packet. */
    readonly methods: ReadonlyArray<{ readonly tool: string; readonly amount: bigint; readonly institution?: string; readonly reference?: string }>;
  };
}

/** The payload as stored and delivered (snake_case, amounts as strings). */
export function paymentReportPayload(report: PaymentReport): Record<string, unknown> {
  const { trade, payment } = report;
  return {
    trade: {
      id: trade.id,
      out_trade_no: trade.outTradeNo,
      type: trade.type,
      client_id: trade.clientId,
      buyer_id: trade.buyerId,
      seller_id: trade.sellerId,
      amount: trade.amount,
      currency: trade.currency,
      status: trade.status,
    },
    payment: {
      id: payment.id,
      amount: payment.amount,
      currency: payment.currency,
      paid_at: payment.paidAt,
      methods: payment.methods.map((m) => ({ tool: m.tool, amount: m.amount, institution: m.institution, reference: m.reference })),
    },
  };
}

/** Emits the report into `<schema>.outbox`, keyed by the trade so it follows the trade's own events. */
export function emitPaymentReported<DB>(trx: Transaction<DB>, schema: string, report: PaymentReport, context: PlatformContext): Promise<string> {
  return emit(trx, schema, { type: paymentReportedTopic, key: report.trade.id, payload: paymentReportPayload(report), context });
}
