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
