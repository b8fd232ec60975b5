/**
 * The one error-code registry: every code the platform can answer with, its HTTP status and its
 * message. Grouped by prefix of concern; `docs/errors.md` lists the same codes and a test keeps
 * the two in step. A code is never reused for another meaning.
 */
export const errorCodes = {
  // Request shape (400)
  INVALID_REQUEST: { status: 400, message: 'The request does not match the schema of this endpoint.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  BODY_TOO_LARGE: { status: 400, message: 'The request body is larger than the configured limit.' },
  INVALID_AMOUNT: { status: 400, message: 'An amount must be a positive integer in minor units, at most 2^53 - 1.' },
  AMOUNT_TOO_LARGE: { status: 400, message: 'The amount is above the single-operation maximum.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be application/json.' },

  // Access (401, 403, 404, 429)
  UNAUTHENTICATED: { status: 401, message: 'A valid API key or operator token is required.' },
  FORBIDDEN: { status: 403, message: 'This operator role may not do that.' },
  NOT_FOUND: { status: 404, message: 'No such object.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry after the time in Retry-After.' },

  // Idempotency (409)
  IDEMPOTENCY_KEY_REUSED: { status: 409, message: 'This Idempotency-Key was used with a different request.' },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, message: 'A request with this Idempotency-Key is still being processed.' },

  // Events and notifications (409)
  DEAD_LETTER_NOT_PARKED: { status: 409, message: 'This dead letter is not parked: it is being replayed or was replayed.' },
  NOTIFICATION_IN_FLIGHT: { status: 409, message: 'This notification is being delivered right now; resend it after the attempt ends.' },

  // Ledger refusals (404, 409, 422); also answered by the subsystems that move money through it
  INSUFFICIENT_FUNDS: { status: 422, message: 'The account has not enough available balance for this.' },
  CURRENCY_MISMATCH: { status: 422, message: 'The account is held in another currency.' },
  LEDGER_UNKNOWN_ACCOUNT: { status: 422, message: 'A ledger account named in the request does not exist.' },
  LEDGER_UNBALANCED: { status: 422, message: 'The entries of a voucher must sum to zero.' },
  LEDGER_INVALID_VOUCHER: { status: 422, message: 'The voucher is malformed: entries, amounts or its key.' },
  LEDGER_DUPLICATE_CONFLICT: { status: 409, message: 'This source and reference were already used with other content.' },
  LEDGER_HOLD_NOT_FOUND: { status: 404, message: 'No such hold.' },
  LEDGER_HOLD_CLOSED: { status: 409, message: 'The hold was already posted, released or cancelled.' },
  LEDGER_HOLD_INSUFFICIENT: { status: 422, message: 'The hold has less remaining than the amount asked for.' },
  LEDGER_ALREADY_REVERSED: { status: 409, message: 'This voucher was already reversed.' },
  LEDGER_VOUCHER_NOT_FOUND: { status: 404, message: 'No such voucher.' },

  // Members, cards, risk and marketing (400, 409, 422)
  MEMBER_EXTERNAL_ID_CONFLICT: { status: 409, message: 'Another member of this client already has this external_id with a different type or name.' },
  CARD_INVALID: { status: 400, message: 'The card number is not a card number the banks accept.' },
  CARD_NOT_SUPPORTED: { status: 422, message: 'No bank serves cards with this number.' },
  CARD_SIGN_REFUSED: { status: 422, message: 'The bank refused to bind this card.' },
  CARD_NOT_PENDING: { status: 409, message: 'This card binding is not waiting for an SMS code.' },
  CARD_NOT_ACTIVE: { status: 422, message: 'The card is not bound and verified.' },
  SMS_CODE_WRONG: { status: 422, message: 'The SMS code is wrong.' },
  SMS_CODE_EXPIRED: { status: 422, message: 'The SMS code has expired.' },
  SMS_CODE_LOCKED: { status: 422, message: 'Too many wrong SMS codes.' },
  PAYMENT_PASSWORD_REQUIRED: { status: 422, message: "This payment needs the member's payment password." },
  PAYMENT_PASSWORD_WRONG: { status: 422, message: 'The payment password is wrong.' },
  PAYMENT_PASSWORD_LOCKED: { status: 422, message: 'The payment password is locked after too many wrong tries.' },
  PAYMENT_PASSWORD_NOT_SET: { status: 422, message: 'The member has no payment password.' },
  LIMIT_EXCEEDED: { status: 422, message: "The amount is above the member's single or daily limit for this tool." },
  MEMBER_BLACKLISTED: { status: 422, message: 'The member may not move money.' },
  TOOL_NOT_AVAILABLE: { status: 422, message: 'The coupon or red packet is not available.' },
  TOOL_EXPIRED: { status: 422, message: 'The coupon or red packet has expired.' },

  // Trades, refunds, funds in and out (400, 409, 422)
  INVALID_SPLITS: { status: 400, message: 'The splits are not valid: receivers must be distinct from each other and from the seller, and their sum below the amount.' },
  INVALID_PAYMENT_METHODS: { status: 400, message: 'The payment methods are not valid: none, or one tool named twice, or more than one card.' },
  OUT_TRADE_NO_CONFLICT: { status: 409, message: 'This out_trade_no was used for a different trade.' },
  OUT_REFUND_NO_CONFLICT: { status: 409, message: 'This out_refund_no was used for a different refund.' },
  OUT_BIZ_NO_CONFLICT: { status: 409, message: 'This out_biz_no was used for a different request.' },
  TRADE_NOT_PAYABLE: { status: 409, message: 'The trade is not waiting for payment.' },
  TRADE_NOT_CLOSABLE: { status: 409, message: 'Only an unpaid trade can be closed.' },
  TRADE_NOT_CONFIRMABLE: { status: 409, message: 'Only a paid escrow trade can be confirmed.' },
  TRADE_NOT_REFUNDABLE: { status: 409, message: 'The trade cannot be refunded: it is not paid, or its refund window has ended.' },
  TRADE_CHANGED: { status: 409, message: 'The trade changed while the request ran; try again.' },
  WITHDRAWAL_NOT_BOUNCEABLE: { status: 409, message: 'Only a paid-out withdrawal can bounce.' },
  REFUND_EXCEEDS_PAID: { status: 422, message: 'The refunds would exceed what was paid.' },
  PAYMENT_CHANNEL_REFUSED: { status: 422, message: 'No bank channel took the card operation.' },
  PAYMENT_FAILED: { status: 422, message: 'The payment did not go through.' },

  // Funds side: accounting, reconciliation (404, 409, 422, 503)
  DAY_NOT_OVER: { status: 409, message: 'The accounting day is not over yet: only a past day can be closed or settled.' },
  EARLIER_DAY_OPEN: { status: 409, message: 'An earlier accounting day with postings is still open; days close in order.' },
  DAY_ALREADY_CLOSED: { status: 409, message: 'A later accounting day is already closed.' },
  TRIAL_BALANCE_UNBALANCED: { status: 409, message: 'The day does not balance, so it stays open.' },
  UNKNOWN_BANK: { status: 404, message: 'No such bank.' },
  STATEMENT_UNAVAILABLE: { status: 503, message: 'The bank statement could not be fetched.' },
  STATEMENT_MALFORMED: { status: 422, message: 'The bank statement does not parse in its bank format.' },
  CORRECTION_REFUSED: { status: 422, message: 'The ledger refused the correcting voucher.' },

  // Server side (500, 503)
  INTERNAL_ERROR: { status: 500, message: 'An unexpected error occurred; it has been logged.' },
  DEPENDENCY_UNAVAILABLE: { status: 503, message: 'A dependency this request needs is unavailable.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** An expected refusal with a registered code; the HTTP layer turns it into the error envelope. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, details?: Record<string, unknown>, options?: { message?: string; headers?: Record<string, string> }) {
    super(options?.message ?? errorCodes[code].message);
    this.name = 'AppError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.details = details;
    this.headers = options?.headers;
  }
}

/** The API.md error envelope for a code. */
export function errorBody(code: ErrorCode, message?: string, details?: Record<string, unknown>): {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
} {
  return { error: { code, message: message ?? errorCodes[code].message, ...(details ? { details } : {}) } };
}
