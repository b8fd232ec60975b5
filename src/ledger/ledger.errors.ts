/** The ledger's typed refusals as registered error codes, for the subsystems that answer HTTP. */
import { AppError, type ErrorCode } from '../platform/index.js';
import type { FreezeRefusal, PostRefusal } from './ledger.types.js';

const codes: Record<PostRefusal | FreezeRefusal | 'hold_already_posted', ErrorCode> = {
  insufficient_funds: 'INSUFFICIENT_FUNDS',
  unknown_account: 'LEDGER_UNKNOWN_ACCOUNT',
  currency_mismatch: 'CURRENCY_MISMATCH',
  duplicate_conflict: 'LEDGER_DUPLICATE_CONFLICT',
  unbalanced: 'LEDGER_UNBALANCED',
  invalid_voucher: 'LEDGER_INVALID_VOUCHER',
  invalid_amount: 'LEDGER_INVALID_VOUCHER',
  hold_not_found: 'LEDGER_HOLD_NOT_FOUND',
  hold_not_held: 'LEDGER_HOLD_CLOSED',
  hold_cancelled: 'LEDGER_HOLD_CLOSED',
  hold_already_posted: 'LEDGER_HOLD_CLOSED',
  hold_insufficient: 'LEDGER_HOLD_INSUFFICIENT',
  already_reversed: 'LEDGER_ALREADY_REVERSED',
  voucher_not_found: 'LEDGER_VOUCHER_NOT_FOUND',
};

export function refusalToAppError(refusal: PostRefusal | FreezeRefusal | 'hold_already_posted', details?: Record<string, unknown>): AppError {
  return new AppError(codes[refusal], details);
}
