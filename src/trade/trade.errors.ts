/** The payment core's refusals as registered error codes, for the HTTP layer. */
import { AppError, type ErrorCode } from '../platform/index.js';
import type { Refusal } from '../payment/index.js';

const codes: Record<string, ErrorCode> = {
  insufficient_funds: 'INSUFFICIENT_FUNDS',
  tool_not_found: 'TOOL_NOT_AVAILABLE',
  tool_not_available: 'TOOL_NOT_AVAILABLE',
  tool_cancelled: 'TOOL_NOT_AVAILABLE',
  tool_expired: 'TOOL_EXPIRED',
  card_not_active: 'CARD_NOT_ACTIVE',
  blacklisted: 'MEMBER_BLACKLISTED',
  limit_exceeded: 'LIMIT_EXCEEDED',
  password_required: 'PAYMENT_PASSWORD_REQUIRED',
  password_not_set: 'PAYMENT_PASSWORD_NOT_SET',
  password_wrong: 'PAYMENT_PASSWORD_WRONG',
  password_locked: 'PAYMENT_PASSWORD_LOCKED',
  not_payable: 'TRADE_NOT_PAYABLE',
  cancelled: 'TRADE_NOT_PAYABLE',
  refund_exceeds_paid: 'REFUND_EXCEEDS_PAID',
  not_refundable: 'TRADE_NOT_REFUNDABLE',
  not_confirmable: 'TRADE_NOT_CONFIRMABLE',
  refund_in_flight: 'TRADE_NOT_CONFIRMABLE',
  changed: 'TRADE_CHANGED',
  // The bank declined (or never answered) within the request: the payment did not go through.
  channel_failed: 'PAYMENT_FAILED',
  channel_timed_out: 'PAYMENT_FAILED',
};

/** The error a refusal answers with; channel refusals and anything unforeseen are PAYMENT_FAILED. */
export function refusalError(refusal: Refusal): AppError {
  const code = codes[refusal.reason] ?? (refusal.reason.startsWith('channel_') ? 'PAYMENT_CHANNEL_REFUSED' : 'PAYMENT_FAILED');
  return new AppError(code, { reason: refusal.reason, ...refusal.detail });
}
