/** HTTP routes of recharges, withdrawals and transfers (API.md "Funds in and out"), and the operator's bounce. */
import type { FastifyPluginAsync } from 'fastify';
import { amountSchema, idParamsSchema, idSchema, outNoSchema } from '../http/index.js';
import { refundBody, type RefundBody } from './refund.schema.js';
import { AppError } from '../platform/index.js';
import type { FundsService } from './funds.service.js';
import type { RefundService } from './refund.service.js';
import { rechargeJson, refundJson, transferJson, withdrawalJson } from './trade.js';
import { apiAmount } from './trade.routes.js';

type IdParams = { Params: { id: string } };

const rechargeBody = {
  type: 'object',
  required: ['out_biz_no', 'member_id', 'card_id', 'amount'],
  additionalProperties: false,
  properties: { out_biz_no: outNoSchema, member_id: idSchema, card_id: idSchema, amount: amountSchema },
} as const;

const withdrawalBody = {
  type: 'object',
  required: ['out_biz_no', 'member_id', 'card_id', 'amount', 'speed'],
  additionalProperties: false,
  properties: { out_biz_no: outNoSchema, member_id: idSchema, card_id: idSchema, amount: amountSchema, speed: { type: 'string', enum: ['t0', 't1'] } },
} as const;

const transferBody = {
  type: 'object',
  required: ['out_biz_no', 'from_member_id', 'to_member_id', 'amount'],
  additionalProperties: false,
  properties: {
    out_biz_no: outNoSchema,
    from_member_id: idSchema,
    to_member_id: idSchema,
    amount: amountSchema,
    memo: { type: 'string', maxLength: 256 },
    payment_password: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

const emptyBody = { type: ['object', 'null'], additionalProperties: false, properties: {} } as const;

export function fundsRoutes(funds: FundsService, refunds: RefundService, options: { maxAmountMinor: bigint }): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: { out_biz_no: string; member_id: string; card_id: string; amount: number } }>('/v1/recharges', { schema: { body: rechargeBody } }, async (request, reply) => {
      const b = request.body;
      const { row, created } = await funds.recharge(request.ctx, request.client!.id, { outBizNo: b.out_biz_no, memberId: b.member_id, cardId: b.card_id, amount: apiAmount(b.amount, options.maxAmountMinor) });
      return reply.code(created ? 201 : 200).send(rechargeJson(row));
    });
    app.get<IdParams>('/v1/recharges/:id', { schema: { params: idParamsSchema } }, async (request) => {
      const row = await funds.get(request.client!.id, request.params.id, 'recharge');
      if (!row) throw new AppError('NOT_FOUND');
      return rechargeJson(row);
    });
    app.post<IdParams & { Body: RefundBody }>('/v1/recharges/:id/refunds', { schema: { params: idParamsSchema, body: refundBody } }, async (request, reply) => {
      const b = request.body;
      const input = { outRefundNo: b.out_refund_no, amount: apiAmount(b.amount, options.maxAmountMinor), ...(b.reason !== undefined ? { reason: b.reason } : {}) };
      const { row, created } = await refunds.refund(request.ctx, request.client!.id, request.params.id, input, ['recharge']);
      return reply.code(created ? 201 : 200).send(refundJson(row));
    });

    app.post<{ Body: { out_biz_no: string; member_id: string; card_id: string; amount: number; speed: 't0' | 't1' } }>('/v1/withdrawals', { schema: { body: withdrawalBody } }, async (request, reply) => {
      const b = request.body;
      const { row, created } = await funds.withdraw(request.ctx, request.client!.id, { outBizNo: b.out_biz_no, memberId: b.member_id, cardId: b.card_id, amount: apiAmount(b.amount, options.maxAmountMinor), speed: b.speed });
      return reply.code(created ? 201 : 200).send(withdrawalJson(row));
    });
    app.get<IdParams>('/v1/withdrawals/:id', { schema: { params: idParamsSchema } }, async (request) => {
      const row = await funds.get(request.client!.id, request.params.id, 'withdrawal');
      if (!row) throw new AppError('NOT_FOUND');
      return withdrawalJson(row);
    });
    app.post<IdParams>('/admin/withdrawals/:id/bounce', { config: { auth: 'operator', role: 'operator' }, schema: { params: idParamsSchema, body: emptyBody } }, async (request) =>
      withdrawalJson(await funds.bounce(request.ctx, request.params.id)),
    );

    app.post<{ Body: { out_biz_no: string; from_member_id: string; to_member_id: string; amount: number; memo?: string; payment_password?: string } }>(
      '/v1/transfers',
      { schema: { body: transferBody } },
      async (request, reply) => {
        const b = request.body;
        const { row, created } = await funds.transfer(request.ctx, request.client!.id, {
          outBizNo: b.out_biz_no,
          fromId: b.from_member_id,
          toId: b.to_member_id,
          amount: apiAmount(b.amount, options.maxAmountMinor),
          ...(b.memo !== undefined ? { memo: b.memo } : {}),
          ...(b.payment_password !== undefined ? { password: b.payment_password } : {}),
        });
        return reply.code(created ? 201 : 200).send(transferJson(row));
      },
    );
    app.get<IdParams>('/v1/transfers/:id', { schema: { params: idParamsSchema } }, async (request) => {
      const row = await funds.get(request.client!.id, request.params.id, 'transfer');
      if (!row) throw new AppError('NOT_FOUND');
      return transferJson(row);
    });
  };
}
