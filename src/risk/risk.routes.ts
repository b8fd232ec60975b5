/** Operator routes of risk: the blacklist and a client's own limits per tool. */
import type { FastifyPluginAsync } from 'fastify';
import { idSchema } from '../http/index.js';
import { AppError, isId } from '../platform/index.js';
import { riskTools, type RiskLimits, type RiskService, type RiskTool } from './risk.service.js';

const limitValue = { type: ['integer', 'null'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const limitsBody = {
  type: 'object',
  required: ['single_limit', 'daily_limit', 'password_threshold'],
  additionalProperties: false,
  properties: { single_limit: limitValue, daily_limit: limitValue, password_threshold: limitValue },
} as const;
const limitsParams = { type: 'object', required: ['client_id', 'tool'], additionalProperties: false, properties: { client_id: idSchema, tool: { type: 'string', enum: riskTools } } } as const;
const blacklistBody = { type: 'object', required: ['member_id', 'reason'], additionalProperties: false, properties: { member_id: idSchema, reason: { type: 'string', minLength: 1, maxLength: 200 } } } as const;
const memberParams = { type: 'object', required: ['member_id'], additionalProperties: false, properties: { member_id: idSchema } } as const;

type LimitsJson = { single_limit: number | null; daily_limit: number | null; password_threshold: number | null };

function limitsJson(limits: RiskLimits): LimitsJson {
  const n = (value: bigint | null): number | null => (value === null ? null : Number(value));
  return { single_limit: n(limits.singleLimit), daily_limit: n(limits.dailyLimit), password_threshold: n(limits.passwordThreshold) };
}

export function riskRoutes(risk: RiskService): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { client_id: string; tool: RiskTool } }>('/admin/risk/limits/:client_id/:tool', { config: { auth: 'operator', role: 'viewer' }, schema: { params: limitsParams } }, async (request) => {
      if (!isId(request.params.client_id)) throw new AppError('NOT_FOUND');
      return limitsJson(await risk.limits(request.params.client_id, request.params.tool));
    });

    app.put<{ Params: { client_id: string; tool: RiskTool }; Body: LimitsJson }>(
      '/admin/risk/limits/:client_id/:tool',
      { config: { auth: 'operator', role: 'admin' }, schema: { params: limitsParams, body: limitsBody } },
      async (request) => {
        if (!isId(request.params.client_id)) throw new AppError('NOT_FOUND');
        const b = (value: number | null): bigint | null => (value === null ? null : BigInt(value));
        const limits = { singleLimit: b(request.body.single_limit), dailyLimit: b(request.body.daily_limit), passwordThreshold: b(request.body.password_threshold) };
        await risk.setClientLimits(request.params.client_id, request.params.tool, limits);
        return limitsJson(limits);
      },
    );

    app.post<{ Body: { member_id: string; reason: string } }>('/admin/risk/blacklist', { config: { auth: 'operator', role: 'operator' }, schema: { body: blacklistBody } }, async (request, reply) => {
      if (!isId(request.body.member_id)) throw new AppError('NOT_FOUND');
      await risk.blacklist(request.body.member_id, request.body.reason);
      return reply.code(201).send({ member_id: request.body.member_id, reason: request.body.reason });
    });

    app.delete<{ Params: { member_id: string } }>('/admin/risk/blacklist/:member_id', { config: { auth: 'operator', role: 'operator' }, schema: { params: memberParams } }, async (request, reply) => {
      if (!(await risk.unblacklist(request.params.member_id))) throw new AppError('NOT_FOUND');
      return reply.code(204).send();
    });
  };
}
