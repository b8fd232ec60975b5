/** HTTP routes of trades and refunds (API.md "Trades"); thin: schema, parse the edge, call the service. */
import type { FastifyPluginAsync } from 'fastify';
import { amountSchema, idParamsSchema, idSchema, outNoSchema } from '../http/index.js';
import { refundBody, type RefundBody } from './refund.schema.js';
import { methodsWellFormed, type MethodInput } from '../payment/index.js';
import { AppError, fromSafeInteger } from '../platform/index.js';
import type { RefundService } from './refund.service.js';
import { refundJson, tradeJson } from './trade.js';
import type { TradeService } from './trade.service.js';

type IdParams = { Params: { id: string } };

/** Only CNY: members hold CNY balance accounts. */
const currencySchema = { type: 'string', enum: ['CNY'] } as const;
const notifyUrlSchema = { type: 'string', minLength: 8, maxLength: 2048, pattern: '^https?://[^\\s]+$' } as const;
const emptyBody = { type: ['object', 'null'], additionalProperties: false, properties: {} } as const;

const createTradeBody = {
  type: 'object',
  required: ['type', 'out_trade_no', 'buyer_id', 'seller_id', 'amount', 'subject'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['instant', 'escrow'] },
    out_trade_no: outNoSchema,
    buyer_id: idSchema,
    seller_id: idSchema,
    amount: amountSchema,
    currency: currencySchema,
    subject: { type: 'string', minLength: 1, maxLength: 256 },
    splits: {
      type: 'array',
      maxItems: 10,
      items: {
        type: 'object',
        required: ['member_id', 'amount'],
        additionalProperties: false,
        properties: { member_id: idSchema, amount: amountSchema, memo: { type: 'string', maxLength: 256 } },
      },
    },
    timeout_seconds: { type: 'integer', minimum: 1, maximum: 15 * 86_400 },
    notify_url: notifyUrlSchema,
    scene: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_\\-.]+$' },
  },
} as const;

const method = (tool: string, idField?: string) =>
  ({
    type: 'object',
    required: idField ? ['tool', idField] : ['tool'],
    additionalProperties: false,
    properties: { tool: { const: tool }, ...(idField ? { [idField]: idSchema } : {}) },
  }) as const;

/** The body of a pay request; the cashier page's pay endpoint takes the same. */
export const payBody = {
  type: 'object',
  required: ['methods'],
  additionalProperties: false,
  properties: {
    methods: { type: 'array', minItems: 1, maxItems: 6, items: { oneOf: [method('balance'), method('card', 'card_id'), method('coupon', 'coupon_id'), method('red_packet', 'red_packet_id')] } },
    payment_password: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

const listQuery = { type: 'object', required: ['out_trade_no'], additionalProperties: false, properties: { out_trade_no: outNoSchema } } as const;

/** An amount from the API, bounded by the single-operation maximum. */
export function apiAmount(value: number, maxAmountMinor: bigint, field = 'amount'): bigint {
  const amount = fromSafeInteger(value);
  if (amount > maxAmountMinor) throw new AppError('AMOUNT_TOO_LARGE', { field, max: Number(maxAmountMinor) });
  return amount;
}

interface CreateTradeBody {
  type: 'instant' | 'escrow';
  out_trade_no: string;
  buyer_id: string;
  seller_id: string;
  amount: number;
  currency?: 'CNY';
  subject: string;
  splits?: Array<{ member_id: string; amount: number; memo?: string }>;
  timeout_seconds?: number;
  notify_url?: string;
  scene?: string;
}

export function tradeRoutes(trades: TradeService, refunds: RefundService, options: { maxAmountMinor: bigint }): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: CreateTradeBody }>('/v1/trades', { schema: { body: createTradeBody } }, async (request, reply) => {
      const body = request.body;
      const { row, created } = await trades.create(request.ctx, request.client!.id, {
        type: body.type,
        outTradeNo: body.out_trade_no,
        buyerId: body.buyer_id,
        sellerId: body.seller_id,
        amount: apiAmount(body.amount, options.maxAmountMinor),
        currency: body.currency ?? 'CNY',
        subject: body.subject,
        splits: (body.splits ?? []).map((s, i) => ({ memberId: s.member_id, amount: apiAmount(s.amount, options.maxAmountMinor, `splits/${i}/amount`), ...(s.memo !== undefined ? { memo: s.memo } : {}) })),
        ...(body.timeout_seconds !== undefined ? { timeoutSeconds: body.timeout_seconds } : {}),
        ...(body.notify_url !== undefined ? { notifyUrl: body.notify_url } : {}),
        ...(body.scene !== undefined ? { scene: body.scene } : {}),
      });
      return reply.code(created ? 201 : 200).send(tradeJson(row));
    });

    app.get<{ Querystring: { out_trade_no: string } }>('/v1/trades', { schema: { querystring: listQuery } }, async (request) => {
      const row = await trades.byOutTradeNo(request.client!.id, request.query.out_trade_no);
      return { data: row ? [tradeJson(row)] : [], has_more: false };
    });

    app.get<IdParams>('/v1/trades/:id', { schema: { params: idParamsSchema } }, async (request) => {
      const row = await trades.get(request.client!.id, request.params.id);
      if (!row) throw new AppError('NOT_FOUND');
      return tradeJson(row);
    });

    app.post<IdParams & { Body: { methods: MethodInput[]; payment_password?: string } }>('/v1/trades/:id/pay', { schema: { params: idParamsSchema, body: payBody } }, async (request) => {
      if (!methodsWellFormed(request.body.methods) || request.body.methods.filter((m) => m.tool === 'card').length > 1) throw new AppError('INVALID_PAYMENT_METHODS');
      const row = await trades.pay(request.ctx, request.client!.id, request.params.id, { methods: request.body.methods, ...(request.body.payment_password !== undefined ? { password: request.body.payment_password } : {}) });
      return tradeJson(row);
    });

    app.post<IdParams>('/v1/trades/:id/confirm', { schema: { params: idParamsSchema, body: emptyBody } }, async (request) => tradeJson(await trades.confirm(request.client!.id, request.params.id)));

    app.post<IdParams>('/v1/trades/:id/close', { schema: { params: idParamsSchema, body: emptyBody } }, async (request) => tradeJson(await trades.closeByClient(request.client!.id, request.params.id)));

    app.post<IdParams & { Body: RefundBody }>('/v1/trades/:id/refunds', { schema: { params: idParamsSchema, body: refundBody } }, async (request, reply) => {
      const body = request.body;
      const input = { outRefundNo: body.out_refund_no, amount: apiAmount(body.amount, options.maxAmountMinor), ...(body.reason !== undefined ? { reason: body.reason } : {}) };
      const { row, created } = await refunds.refund(request.ctx, request.client!.id, request.params.id, input, ['instant', 'escrow']);
      return reply.code(created ? 201 : 200).send(refundJson(row));
    });

    app.get<IdParams>('/v1/refunds/:id', { schema: { params: idParamsSchema } }, async (request) => {
      const row = await refunds.get(request.client!.id, request.params.id);
      if (!row) throw new AppError('NOT_FOUND');
      return refundJson(row);
    });
  };
}
