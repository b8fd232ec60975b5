/** The channel order as the rest of Paycore sees it, and its mapping from the row. */
import type { PlatformContext } from '../platform/index.js';
import type { ChannelOrderRow, OrderService, OrderStatus } from './channel.table.js';

/** Our record of one request to a bank; its id is the voucher pay() hands back and the bank's request id. */
export interface ChannelOrder {
  readonly id: string;
  readonly instructionId: string;
  readonly service: OrderService;
  readonly channelId: string;
  readonly bank: string;
  readonly agreementId: string | null;
  readonly originalOrderId: string | null;
  readonly amount: bigint;
  readonly currency: string;
  /** processing → success | failed; unknown (no answer) → success | failed once a query tells. */
  readonly status: OrderStatus;
  readonly resultCode: string | null;
  readonly resultMessage: string | null;
  readonly bankRef: string | null;
  readonly resolvedBy: ChannelOrderRow['resolved_by'];
  readonly queryAttempts: number;
  readonly reroutedFrom: readonly string[];
  readonly ctx: PlatformContext;
  readonly createdAt: Date;
  readonly sentAt: Date | null;
  readonly finishedAt: Date | null;
}

export function toChannelOrder(row: ChannelOrderRow): ChannelOrder {
  return {
    id: row.id,
    instructionId: row.instruction_id,
    service: row.service,
    channelId: row.channel_id,
    bank: row.bank,
    agreementId: row.agreement_id,
    originalOrderId: row.original_order_id,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    resultCode: row.result_code,
    resultMessage: row.result_message,
    bankRef: row.bank_ref,
    resolvedBy: row.resolved_by,
    queryAttempts: row.query_attempts,
    reroutedFrom: row.rerouted_from,
    ctx: row.ctx as unknown as PlatformContext,
    createdAt: row.created_at,
    sentAt: row.sent_at,
    finishedAt: row.finished_at,
  };
}
