/** JSON-schema pieces shared by every route: amounts, currencies, ids, list queries. */
export const amountSchema = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
export const currencySchema = { type: 'string', pattern: '^[A-Z]{3}$' } as const;
export const idSchema = { type: 'string', minLength: 1, maxLength: 64 } as const;
export const outNoSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_\\-.:]+$' } as const;

export const idParamsSchema = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: idSchema },
} as const;

/** `?limit=` alone: 1 to 100, as a query-string string. */
export const limitSchema = { type: 'string', pattern: '^(100|[1-9][0-9]?)$' } as const;

/** `?limit=` (≤ 100) and `?starting_after=`; query strings are strings, converted by the route. */
export const listQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: limitSchema,
    starting_after: idSchema,
  },
} as const;

export function listLimit(query: { limit?: string }, fallback = 20): number {
  return query.limit ? Number(query.limit) : fallback;
}
