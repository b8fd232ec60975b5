/** Operator endpoints of the funds side: reconciliation runs, the discrepancy queue, reports, day close. */
import type { FastifyPluginAsync } from 'fastify';
import { idParamsSchema, limitSchema } from '../http/index.js';
import { AppError } from '../platform/index.js';
import type { TrialBalance } from './accounting.service.js';
import type { Funds } from './funds.service.js';
import { subjectByType, subjectRules, subjects } from './gl-subject.js';
import type { DiscrepancyRow, MerchantSettlementRow, ReconRunRow, TradeCheckRow } from './funds.table.js';

/** A sum as a JSON number while exact, else a decimal string (no float ever rounds money). */
export function jsonAmount(value: bigint | null): number | string | null {
  if (value === null) return null;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** Converts bigints (deeply) for JSON. */
export function amountsToJson(value: unknown): unknown {
  if (typeof value === 'bigint') return jsonAmount(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(amountsToJson);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, amountsToJson(v)]));
  return value;
}

export function runJson(row: ReconRunRow): Record<string, unknown> {
  return amountsToJson(row) as Record<string, unknown>;
}

export function discrepancyJson(row: DiscrepancyRow): Record<string, unknown> {
  return amountsToJson(row) as Record<string, unknown>;
}

export function trialBalanceJson(tb: TrialBalance): Record<string, unknown> {
  return amountsToJson(tb) as Record<string, unknown>;
}

const date = { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$' } as const;
const bank = { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' } as const;
const limit = limitSchema;
const dateQuery = { type: 'object', required: ['date'], additionalProperties: false, properties: { date } } as const;

function operatorName(request: { operator?: { name: string } }): string {
  return `operator:${request.operator?.name ?? 'unknown'}`;
}

export function fundsRoutes(funds: Funds): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { bank?: string; date?: string; limit?: string } }>(
      '/admin/funds/recon-runs',
      { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: { type: 'object', additionalProperties: false, properties: { bank, date, limit } } } },
      async (request) => ({ data: (await funds.recon.listRuns({ ...request.query, limit: Number(request.query.limit ?? 20) })).map(runJson) }),
    );

    app.post<{ Body: { bank: string; date: string } }>(
      '/admin/funds/recon-runs',
      { config: { auth: 'operator', role: 'operator' }, schema: { body: { type: 'object', required: ['bank', 'date'], additionalProperties: false, properties: { bank, date } } } },
      async (request) => {
        const result = await funds.recon.run(request.body.bank, request.body.date, operatorName(request));
        if (!result.ok) {
          const code = result.error === 'unknown_bank' ? 'UNKNOWN_BANK' : result.error === 'statement_unavailable' ? 'STATEMENT_UNAVAILABLE' : 'STATEMENT_MALFORMED';
          throw new AppError(code, { reason: result.detail });
        }
        return { run: runJson(result.run), discrepancies: result.discrepancies.map(discrepancyJson) };
      },
    );

    app.get<{ Querystring: { status?: 'open' | 'accepted'; bank?: string; date?: string; limit?: string } }>(
      '/admin/funds/discrepancies',
      {
        config: { auth: 'operator', role: 'viewer' },
        schema: { querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: ['open', 'accepted'] }, bank, date, limit } } },
      },
      async (request) => ({ data: (await funds.recon.listDiscrepancies({ ...request.query, limit: Number(request.query.limit ?? 20) })).map(discrepancyJson) }),
    );

    app.post<{ Params: { id: string } }>(
      '/admin/funds/discrepancies/:id/accept',
      { config: { auth: 'operator', role: 'operator' }, schema: { params: idParamsSchema } },
      async (request) => {
        const result = await funds.recon.accept(request.params.id, operatorName(request));
        if (!result.ok) throw result.error === 'not_found' ? new AppError('NOT_FOUND') : new AppError('CORRECTION_REFUSED', { reason: result.detail });
        return discrepancyJson(result.discrepancy);
      },
    );

    app.get<{ Querystring: { date: string } }>('/admin/funds/trial-balance', { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: dateQuery } }, async (request) =>
      trialBalanceJson(await funds.accounting.trialBalance(request.query.date)),
    );
    app.get<{ Querystring: { date: string } }>('/admin/funds/balance-sheet', { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: dateQuery } }, async (request) =>
      amountsToJson(await funds.accounting.balanceSheet(request.query.date)),
    );
    app.get<{ Querystring: { date: string } }>('/admin/funds/income-statement', { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: dateQuery } }, async (request) =>
      amountsToJson(await funds.accounting.incomeStatement(request.query.date)),
    );

    app.get<{ Querystring: { date: string; subject?: string; after_seq?: string; limit?: string } }>(
      '/admin/funds/general-ledger',
      {
        config: { auth: 'operator', role: 'viewer' },
        schema: { querystring: { type: 'object', required: ['date'], additionalProperties: false, properties: { date, subject: { type: 'string', pattern: '^\\d{4}$' }, after_seq: { type: 'string', pattern: '^\\d{1,18}$' }, limit } } },
      },
      async (request) => {
        const { date: day, subject, after_seq: afterSeq } = request.query;
        const lines = await funds.accounting.generalLedger(day, { ...(subject ? { subject } : {}), ...(afterSeq ? { afterSeq: BigInt(afterSeq) } : {}), limit: Number(request.query.limit ?? 100) });
        return { data: lines.map((l) => amountsToJson(l)) };
      },
    );

    app.get('/admin/funds/subjects', { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: { type: 'object', additionalProperties: false } } }, async () => ({
      subjects: Object.values(subjects),
      rules: subjectRules.map((r) => ({ code_prefix: r.codePrefix, subject: r.subject })),
      by_type: subjectByType,
    }));

    app.post<{ Body: { date: string } }>(
      '/admin/funds/day-close',
      { config: { auth: 'operator', role: 'admin' }, schema: { body: { type: 'object', required: ['date'], additionalProperties: false, properties: { date } } } },
      async (request) => {
        const result = await funds.accounting.closeDay(request.body.date, operatorName(request));
        if (!result.ok) {
          const code = ({ day_not_over: 'DAY_NOT_OVER', earlier_day_open: 'EARLIER_DAY_OPEN', already_closed: 'DAY_ALREADY_CLOSED', unbalanced: 'TRIAL_BALANCE_UNBALANCED' } as const)[result.error];
          throw new AppError(code, result.date ? { date: result.date } : undefined);
        }
        return { date: result.date, replayed: result.replayed, trial_balance: trialBalanceJson(result.trialBalance) };
      },
    );

    app.get<{ Querystring: { limit?: string } }>(
      '/admin/funds/internal-gaps',
      { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: { type: 'object', additionalProperties: false, properties: { limit } } } },
      async (request) => ({ data: (await funds.internal.gaps(Number(request.query.limit ?? 20))).map((row: TradeCheckRow) => amountsToJson(row)) }),
    );

    app.post<{ Body: { date: string } }>(
      '/admin/funds/merchant-settlements',
      { config: { auth: 'operator', role: 'operator' }, schema: { body: { type: 'object', required: ['date'], additionalProperties: false, properties: { date } } } },
      async (request) => {
        const result = await funds.settlement.settle(request.body.date);
        if (!result.ok) throw new AppError('DAY_NOT_OVER');
        return { data: result.settlements.map((row: MerchantSettlementRow) => amountsToJson(row)) };
      },
    );

    app.put<{ Params: { merchant_id: string }; Body: { rate_bp: number } }>(
      '/admin/funds/fee-rates/:merchant_id',
      {
        config: { auth: 'operator', role: 'admin' },
        schema: {
          params: { type: 'object', required: ['merchant_id'], additionalProperties: false, properties: { merchant_id: { type: 'string', minLength: 1, maxLength: 64 } } },
          body: { type: 'object', required: ['rate_bp'], additionalProperties: false, properties: { rate_bp: { type: 'integer', minimum: 0, maximum: 10_000 } } },
        },
      },
      async (request) => {
        await funds.settlement.setFeeRate(request.params.merchant_id, request.body.rate_bp);
        return { merchant_id: request.params.merchant_id, rate_bp: await funds.settlement.feeRate(request.params.merchant_id) };
      },
    );

    app.get<{ Querystring: { date: string; merchant_id?: string } }>(
      '/admin/funds/compliance-export',
      {
        config: { auth: 'operator', role: 'viewer' },
        schema: { querystring: { type: 'object', required: ['date'], additionalProperties: false, properties: { date, merchant_id: { type: 'string', minLength: 1, maxLength: 64 } } } },
      },
      async (request, reply) => {
        const csv = await funds.complianceCsv(request.query.date, request.query.merchant_id);
        return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="compliance-${request.query.date}.csv"`).send(csv);
      },
    );
  };
}
