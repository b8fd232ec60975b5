/**
 * Trade orders (SYSTEM.md §3): the state machine of every type, and each order as the API shows
 * it. Amounts are bigint inside; toSafeInteger turns them into API integers at the edge.
 */
import { strict as assert } from 'node:assert';
import { sha256Hex, toSafeInteger, type PlatformContext } from '../platform/index.js';
import type { StoredException, StoredSplit, TradeKind, TradeRow } from './trade.table.js';

export type TradeStatus = 'wait_pay' | 'paying' | 'success' | 'finished' | 'closed';
export type OrderStatus = 'processing' | 'success' | 'failed';
export type WithdrawalStatus = OrderStatus | 'bounced';

/** Every status each kind may be in, and the moves allowed between them (compare-and-set only along these). */
export const transitions: Record<TradeKind, Record<string, readonly string[]>> = {
  instant: { wait_pay: ['paying', 'success', 'closed'], paying: ['wait_pay', 'success', 'closed'], success: ['finished', 'closed'], finished: ['closed'], closed: [] },
  escrow: { wait_pay: ['paying', 'success', 'closed'], paying: ['wait_pay', 'success', 'closed'], success: ['finished', 'closed'], finished: ['closed'], closed: [] },
  refund: { processing: ['success', 'failed'], success: [], failed: [] },
  exception_refund: { processing: ['success', 'failed'], success: [], failed: [] },
  recharge_refund: { processing: ['success', 'failed'], success: [], failed: [] },
  recharge: { processing: ['success', 'failed'], success: [], failed: [] },
  withdrawal: { processing: ['success', 'failed'], success: ['bounced'], failed: [], bounced: [] },
  transfer: { processing: ['success', 'failed'], success: [], failed: [] },
  withdrawal_bounce: { processing: ['success'], success: [] },
};

/** Asserts a move is one the state machine allows (a bug otherwise). */
export function assertTransition(kind: TradeKind, from: readonly string[], to: string): void {
  for (const status of from) assert(transitions[kind][status]?.includes(to), `${kind}: ${status} → ${to} is not a transition`);
}

export interface Split {
  readonly memberId: string;
  readonly amount: bigint;
  readonly memo?: string;
}

export function splitsOf(row: TradeRow): Split[] {
  return (row.splits as StoredSplit[]).map((s) => ({ memberId: s.member_id, amount: BigInt(s.amount), ...(s.memo !== undefined ? { memo: s.memo } : {}) }));
}

export function storeSplits(splits: readonly Split[]): string {
  return JSON.stringify(splits.map((s) => ({ member_id: s.memberId, amount: s.amount.toString(), ...(s.memo !== undefined ? { memo: s.memo } : {}) })));
}

/** The hash of a creating request: a replay must carry the same, a conflict differs. */
export function requestHash(fields: Record<string, unknown>): string {
  return sha256Hex(JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
}

function time(value: Date | null): string | undefined {
  return value ? value.toISOString() : undefined;
}

function exceptionsJson(row: TradeRow): unknown[] {
  return (row.exceptions as StoredException[]).map((e) => ({
    kind: e.kind,
    amount: toSafeInteger(BigInt(e.amount)),
    action: e.action,
    payment_order_id: e.payment_order_id,
    ...(e.order_id ? { refund_order_id: e.order_id } : {}),
    at: e.at,
  }));
}

/** An instant or escrow trade as `GET /v1/trades/{id}` returns it. */
export function tradeJson(row: TradeRow): Record<string, unknown> {
  return {
    id: row.id,
    out_trade_no: row.out_no,
    type: row.kind,
    status: row.status,
    amount: toSafeInteger(row.amount),
    currency: row.currency,
    paid_amount: toSafeInteger(row.paid_amount),
    refunded_amount: toSafeInteger(row.refunded_amount),
    buyer_id: row.payer_id,
    seller_id: row.payee_id,
    subject: row.subject,
    splits: splitsOf(row).map((s) => ({ member_id: s.memberId, amount: toSafeInteger(s.amount), ...(s.memo !== undefined ? { memo: s.memo } : {}) })),
    ...(row.scene ? { scene: row.scene } : {}),
    ...(row.notify_url ? { notify_url: row.notify_url } : {}),
    exceptions: exceptionsJson(row),
    created_at: row.created_at.toISOString(),
    timeout_at: time(row.timeout_at),
    paid_at: time(row.paid_at),
    confirm_due_at: row.status === 'success' ? time(row.confirm_due_at) : undefined,
    finished_at: time(row.finished_at),
    closed_at: time(row.closed_at),
  };
}

/** A refund (of a trade, a recharge, or an exception refund) as `GET /v1/refunds/{id}` returns it. */
export function refundJson(row: TradeRow): Record<string, unknown> {
  return {
    id: row.id,
    trade_id: row.parent_id,
    out_refund_no: row.out_no,
    type: row.kind,
    amount: toSafeInteger(row.amount),
    currency: row.currency,
    status: row.status,
    ...(row.memo ? { reason: row.memo } : {}),
    created_at: row.created_at.toISOString(),
    finished_at: time(row.finished_at),
  };
}

export function rechargeJson(row: TradeRow): Record<string, unknown> {
  return {
    id: row.id,
    out_biz_no: row.out_no,
    member_id: row.payee_id,
    card_id: row.card_id,
    amount: toSafeInteger(row.amount),
    currency: row.currency,
    status: row.status,
    refunded_amount: toSafeInteger(row.refunded_amount),
    created_at: row.created_at.toISOString(),
    finished_at: time(row.finished_at),
  };
}

export function withdrawalJson(row: TradeRow): Record<string, unknown> {
  return {
    id: row.id,
    out_biz_no: row.out_no,
    member_id: row.payer_id,
    card_id: row.card_id,
    amount: toSafeInteger(row.amount),
    currency: row.currency,
    speed: row.speed,
    status: row.status,
    settle_at: time(row.settle_at),
    created_at: row.created_at.toISOString(),
    finished_at: time(row.finished_at),
  };
}

export function transferJson(row: TradeRow): Record<string, unknown> {
  return {
    id: row.id,
    out_biz_no: row.out_no,
    from_member_id: row.payer_id,
    to_member_id: row.payee_id,
    amount: toSafeInteger(row.amount),
    currency: row.currency,
    ...(row.memo ? { memo: row.memo } : {}),
    status: row.status,
    created_at: row.created_at.toISOString(),
    finished_at: time(row.finished_at),
  };
}

/** The object a client sees for any order, by kind (events carry exactly this). */
export function orderJson(row: TradeRow): Record<string, unknown> {
  switch (row.kind) {
    case 'instant':
    case 'escrow':
      return tradeJson(row);
    case 'recharge':
      return rechargeJson(row);
    case 'withdrawal':
      return withdrawalJson(row);
    case 'transfer':
      return transferJson(row);
    default:
      return refundJson(row);
  }
}

/** The event family of an order kind: what a client subscribes to. */
export function eventObject(kind: TradeKind): string {
  switch (kind) {
    case 'instant':
    case 'escrow':
      return 'trade';
    case 'refund':
    case 'recharge_refund':
      return 'refund';
    case 'exception_refund':
      return 'exception_refund';
    case 'withdrawal_bounce':
      return 'withdrawal_bounce';
    default:
      return kind;
  }
}

/** The unified context of an order's events (SYSTEM.md §2), as stored when it was created. */
export function contextOf(row: TradeRow): PlatformContext {
  return row.context as unknown as PlatformContext;
}
