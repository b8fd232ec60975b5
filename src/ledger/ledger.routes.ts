/** The ledger's only HTTP surface (API.md Operations): the operator's self-check. */
import type { FastifyPluginAsync } from 'fastify';
import type { CheckReport } from './ledger.types.js';
import type { Ledger } from './ledger.service.js';

/** A sum as a JSON number while exact, else as a decimal string (no float ever rounds money). */
function jsonAmount(value: bigint): number | string {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

export function checkToJson(report: CheckReport): Record<string, unknown> {
  const byCurrency: Record<string, unknown> = {};
  for (const [currency, c] of Object.entries(report.by_currency)) {
    byCurrency[currency] = { debits: jsonAmount(c.debits), credits: jsonAmount(c.credits), balance_sum: jsonAmount(c.balance_sum) };
  }
  return {
    balanced: report.balanced,
    by_currency: byCurrency,
    negative_accounts: report.negative_accounts,
    unbalanced_vouchers: report.unbalanced_vouchers,
    mismatched_accounts: report.mismatched_accounts,
    frozen_mismatches: report.frozen_mismatches,
    buffered_entries: report.buffered_entries,
  };
}

export function ledgerRoutes(ledger: Ledger): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/admin/ledger/check',
      { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: { type: 'object', additionalProperties: false } } },
      async () => checkToJson(await ledger.check()),
    );
  };
}
