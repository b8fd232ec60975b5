/**
 * The cashier's JSON: a business system gets a signed link for its trade with its API key; the
 * page then reads the trade and its payment methods and pays with that link only.
 * `Authorization: Cashier <token>`; the token names one trade, so it cannot read or pay another.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { idParamsSchema } from '../http/index.js';
import { methodsWellFormed, type MethodInput } from '../payment/index.js';
import { cardCodes, type MemberService } from '../member/index.js';
import { AppError, toSafeInteger, type Clock} from '../platform/index.js';
import { payBody, type TradeRow, type TradeService } from '../trade/index.js';
import { issueCashierToken, verifyCashierToken, type CashierGrant } from './cashier-link.js';
import type { CashierService, CashierView } from './cashier.service.js';

export interface CashierRouteDeps {
  readonly cashier: CashierService;
  readonly trades: TradeService;
  readonly members: MemberService;
  readonly secret: string;
  readonly linkTtlMs: number;
  readonly clock: Clock;
}

const returnUrlSchema = { type: 'string', minLength: 8, maxLength: 2048, pattern: '^https?://[^\\s]+$' } as const;
const linkBody = { type: ['object', 'null'], additionalProperties: false, properties: { return_url: returnUrlSchema } } as const;
const cashierHeaders = { type: 'object', required: ['authorization'], properties: { authorization: { type: 'string', pattern: '^Cashier [A-Za-z0-9_.-]{1,4096}$' } } } as const;
const bindCardBody = {
  type: 'object',
  required: ['card_no', 'holder_name', 'phone'],
  additionalProperties: false,
  properties: { card_no: { type: 'string', pattern: '^[0-9]{12,19}$' }, holder_name: { type: 'string', minLength: 1, maxLength: 64 }, phone: { type: 'string', pattern: '^\\+?[0-9]{6,20}$' } },
} as const;
const verifyCardBody = { type: 'object', required: ['sms_code'], additionalProperties: false, properties: { sms_code: { type: 'string', pattern: '^[0-9]{4,8}$' } } } as const;
const cardParams = { type: 'object', required: ['id', 'card_id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 64 }, card_id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

/** The trade as the buyer may see it: no splits, no notify URL, no client data. */
function buyerTrade(row: TradeRow, merchantName: string | undefined): Record<string, unknown> {
  return {
    id: row.id,
    subject: row.subject,
    amount: toSafeInteger(row.amount),
    currency: row.currency,
    status: row.status,
    paid_amount: toSafeInteger(row.paid_amount),
    merchant: merchantName ?? null,
    timeout_at: row.timeout_at?.toISOString() ?? null,
  };
}

function viewJson(view: CashierView, grant: CashierGrant): Record<string, unknown> {
  const tools = (kind: 'coupon' | 'red_packet') =>
    view.tools.filter((t) => t.kind === kind).map((t) => ({ id: t.id, amount: toSafeInteger(t.amount), expires_at: t.expiresAt?.toISOString() ?? null }));
  return {
    trade: buyerTrade(view.trade, view.merchantName),
    return_url: grant.returnUrl ?? null,
    payment_password_set: view.passwordSet,
    methods: {
      balance: view.balance ? { available: toSafeInteger(view.balance.available) } : null,
      cards: view.cards.map((c) => ({ id: c.id, bank: c.bank, last4: c.last4 })),
      coupons: tools('coupon'),
      red_packets: tools('red_packet'),
    },
    sources: view.sources,
  };
}

export function cashierRoutes(deps: CashierRouteDeps): FastifyPluginAsync {
  function grantOf(request: FastifyRequest<{ Params: { id: string } }>): CashierGrant {
    const token = (request.headers.authorization ?? '').slice('Cashier '.length);
    const check = verifyCashierToken(deps.secret, token, request.params.id, deps.clock.now().getTime());
    if (!check.ok) throw new AppError('UNAUTHENTICATED', { reason: `cashier link ${check.reason.replace('_', ' ')}` });
    return check.grant;
  }

  return async (app) => {
    app.post<{ Params: { id: string }; Body: { return_url?: string } | null }>(
      '/v1/trades/:id/cashier-link',
      { schema: { params: idParamsSchema, body: linkBody } },
      async (request, reply) => {
        const clientId = request.client!.id;
        const trade = await deps.trades.get(clientId, request.params.id);
        if (!trade) throw new AppError('NOT_FOUND');
        const expiresAt = deps.clock.now().getTime() + deps.linkTtlMs;
        const token = issueCashierToken(deps.secret, { tradeId: trade.id, clientId, returnUrl: request.body?.return_url, expiresAt });
        // The token rides in the fragment: browsers never send it to a server or in a Referer.
        return reply.code(201).send({ url: `/cashier/${trade.id}#t=${token}`, token, expires_at: new Date(expiresAt).toISOString() });
      },
    );

    app.get<{ Params: { id: string } }>('/v1/cashier/:id', { config: { auth: 'none' }, schema: { params: idParamsSchema, headers: cashierHeaders } }, async (request) => {
      const grant = grantOf(request);
      const view = await deps.cashier.view(grant.clientId, grant.tradeId);
      if (!view) throw new AppError('NOT_FOUND');
      return viewJson(view, grant);
    });

    /** The buyer of the trade, whose cards the link may add: a trade with no buyer has none. */
    async function buyerOf(grant: CashierGrant): Promise<string> {
      const trade = await deps.trades.get(grant.clientId, grant.tradeId);
      if (!trade?.payer_id) throw new AppError('NOT_FOUND');
      if (trade.status !== 'wait_pay') throw new AppError('TRADE_NOT_PAYABLE', { status: trade.status });
      return trade.payer_id;
    }

    // A new card on the page: the bank texts a code to the card's phone, the buyer types it in.
    app.post<{ Params: { id: string }; Body: { card_no: string; holder_name: string; phone: string } }>(
      '/v1/cashier/:id/cards',
      { config: { auth: 'none' }, schema: { params: idParamsSchema, headers: cashierHeaders, body: bindCardBody } },
      async (request, reply) => {
        const grant = grantOf(request);
        const buyer = await buyerOf(grant);
        const result = await deps.members.bindCard(buyer, grant.clientId, { cardNo: request.body.card_no, holderName: request.body.holder_name, phone: request.body.phone });
        if (!result.ok) throw new AppError(cardCodes[result.reason], { reason: result.reason.toLowerCase() });
        return reply.code(201).send({ id: result.card.id, bank: result.card.bank, last4: result.card.last4, status: result.card.status });
      },
    );

    app.post<{ Params: { id: string; card_id: string }; Body: { sms_code: string } }>(
      '/v1/cashier/:id/cards/:card_id/verify',
      { config: { auth: 'none' }, schema: { params: cardParams, headers: cashierHeaders, body: verifyCardBody } },
      async (request) => {
        const grant = grantOf(request);
        const buyer = await buyerOf(grant);
        const card = await deps.members.getCard(grant.clientId, request.params.card_id);
        if (!card || card.memberId !== buyer) throw new AppError('NOT_FOUND');
        const result = await deps.members.verifyCard({ ...request.ctx, client: grant.clientId }, card.id, request.body.sms_code);
        if (!result.ok) throw new AppError(cardCodes[result.reason], { reason: result.reason.toLowerCase() });
        return { id: result.card.id, bank: result.card.bank, last4: result.card.last4, status: result.card.status };
      },
    );

    app.post<{ Params: { id: string }; Body: { methods: MethodInput[]; payment_password?: string } }>(
      '/v1/cashier/:id/pay',
      { config: { auth: 'none' }, schema: { params: idParamsSchema, headers: cashierHeaders, body: payBody } },
      async (request) => {
        const grant = grantOf(request);
        const { methods, payment_password: password } = request.body;
        if (!methodsWellFormed(methods) || methods.filter((m) => m.tool === 'card').length > 1) throw new AppError('INVALID_PAYMENT_METHODS');
        const ctx = { ...request.ctx, client: grant.clientId, scene: 'cashier' };
        const row = await deps.trades.pay(ctx, grant.clientId, grant.tradeId, { methods, ...(password !== undefined ? { password } : {}) });
        return { trade: buyerTrade(row, undefined), return_url: grant.returnUrl ?? null };
      },
    );
  };
}
