/** HTTP routes of marketing (API.md "Marketing"): issuing coupons and red packets, and reading one back. */
import type { FastifyPluginAsync } from 'fastify';
import { amountSchema, idParamsSchema, idSchema } from '../http/index.js';
import { AppError, type Clock } from '../platform/index.js';
import type { MarketingService } from './marketing.service.js';
import type { ToolKind } from './marketing.table.js';
import type { PaymentTool } from './payment-tool.js';

const couponBody = {
  type: 'object',
  required: ['member_id', 'amount', 'expires_at'],
  additionalProperties: false,
  properties: { member_id: idSchema, amount: amountSchema, expires_at: { type: 'string', format: 'date-time', maxLength: 40 } },
} as const;
const redPacketBody = { type: 'object', required: ['member_id', 'amount'], additionalProperties: false, properties: { member_id: idSchema, amount: amountSchema } } as const;

/** A coupon's end of validity, at most this far ahead (a bound, like everything else). */
const expiresWithinMs = 5 * 366 * 86_400_000;

export function toolJson(tool: PaymentTool): Record<string, unknown> {
  return {
    id: tool.id,
    kind: tool.kind,
    member_id: tool.memberId,
    amount: Number(tool.amount),
    currency: tool.currency,
    status: tool.status,
    expires_at: tool.expiresAt?.toISOString() ?? null,
    created_at: tool.createdAt.toISOString(),
  };
}

export function marketingRoutes(marketing: MarketingService, options: { maxAmountMinor: bigint; clock: Clock }): FastifyPluginAsync {
  function amountOf(amount: number): bigint {
    const value = BigInt(amount);
    if (value > options.maxAmountMinor) throw new AppError('AMOUNT_TOO_LARGE', { max: Number(options.maxAmountMinor) });
    return value;
  }

  function expiryOf(text: string): Date {
    const at = new Date(text);
    const now = options.clock.now().getTime();
    if (Number.isNaN(at.getTime()) || at.getTime() <= now || at.getTime() > now + expiresWithinMs) {
      throw new AppError('INVALID_REQUEST', { errors: [{ path: 'body/expires_at', message: 'must be a time in the future, within five years' }] });
    }
    return at;
  }

  async function issue(ctx: Parameters<MarketingService['issueTool']>[0], kind: ToolKind, memberId: string, amount: bigint, expiresAt?: Date): Promise<PaymentTool> {
    const result = await marketing.issueTool(ctx, { kind, memberId, amount, ...(expiresAt ? { expiresAt } : {}) });
    if (!result.ok) throw result.reason === 'member_not_found' ? new AppError('NOT_FOUND') : new AppError('INVALID_REQUEST', { expires_at: 'in the past' });
    return result.tool;
  }

  async function own(clientId: string, id: string, kind: ToolKind): Promise<PaymentTool> {
    const tool = await marketing.get(clientId, id);
    if (!tool || tool.kind !== kind) throw new AppError('NOT_FOUND');
    return tool;
  }

  return async (app) => {
    app.post<{ Body: { member_id: string; amount: number; expires_at: string } }>('/v1/coupons', { schema: { body: couponBody } }, async (request, reply) => {
      const body = request.body;
      const tool = await issue(request.ctx, 'coupon', body.member_id, amountOf(body.amount), expiryOf(body.expires_at));
      return reply.code(201).send(toolJson(tool));
    });

    app.post<{ Body: { member_id: string; amount: number } }>('/v1/red-packets', { schema: { body: redPacketBody } }, async (request, reply) => {
      const tool = await issue(request.ctx, 'red_packet', request.body.member_id, amountOf(request.body.amount));
      return reply.code(201).send(toolJson(tool));
    });

    app.get<{ Params: { id: string } }>('/v1/coupons/:id', { schema: { params: idParamsSchema } }, async (request) => toolJson(await own(request.ctx.client, request.params.id, 'coupon')));
    app.get<{ Params: { id: string } }>('/v1/red-packets/:id', { schema: { params: idParamsSchema } }, async (request) =>
      toolJson(await own(request.ctx.client, request.params.id, 'red_packet')),
    );
  };
}
