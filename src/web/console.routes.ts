/**
 * JSON the console needs that no subsystem offers as such: operator login, the dashboard's
 * live figures, trade lookup across clients, a member's accounts and statement, API clients.
 * Everything else the console reads from the subsystems' own /admin routes.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ClientService, OperatorService } from '../access/index.js';
import type { ChannelGateway } from '../channel/index.js';
import { idParamsSchema, idSchema, outNoSchema } from '../http/index.js';
import type { Ledger } from '../ledger/index.js';
import type { MemberService } from '../member/index.js';
import type { PaymentService } from '../payment/index.js';
import { AppError, toSafeInteger } from '../platform/index.js';
import { refundJson, tradeJson, type TradeService, type RefundService } from '../trade/index.js';
import type { TrafficMeter } from './traffic-meter.js';
import type { LoginThrottle } from './login-throttle.js';

export interface ConsoleRouteDeps {
  readonly operators: OperatorService;
  readonly clients: ClientService;
  readonly channel: ChannelGateway;
  readonly members: MemberService;
  readonly ledger: Ledger;
  readonly trades: TradeService;
  readonly refunds: RefundService;
  readonly payment: PaymentService;
  readonly meter: TrafficMeter;
  readonly loginThrottle: LoginThrottle;
}

const noQuery = { type: 'object', additionalProperties: false } as const;
const loginBody = {
  type: 'object',
  required: ['name', 'password'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, password: { type: 'string', minLength: 1, maxLength: 256 } },
} as const;
const tradeQuery = {
  type: 'object',
  required: ['client_id'],
  additionalProperties: false,
  properties: { client_id: idSchema, trade_id: idSchema, out_trade_no: outNoSchema, refund_id: idSchema },
} as const;
const newClientBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, notify_url: { type: 'string', minLength: 8, maxLength: 2048, pattern: '^https?://[^\\s]+$' } },
} as const;

export function consoleRoutes(deps: ConsoleRouteDeps): FastifyPluginAsync {
  /** The payment orders under a trade or refund, each with its TCC activity and phase log. */
  async function paymentsOf(id: string): Promise<Array<Record<string, unknown>>> {
    const orders = await deps.payment.ordersOfTrade(id);
    return Promise.all(
      orders.map(async (order) => {
        const found = await deps.payment.activityOf(order.id);
        return {
          id: order.id,
          kind: order.kind,
          status: order.status,
          tcc: order.tcc,
          amount: toSafeInteger(order.amount),
          methods: order.methods,
          channel_order_id: order.channel_order_id,
          created_at: order.created_at.toISOString(),
          finished_at: order.finished_at?.toISOString() ?? null,
          activity: found
            ? {
                status: found.activity.status,
                attempts: found.activity.attempts,
                cancel_reason: found.activity.cancel_reason,
                channel_state: found.activity.channel_state,
                log: found.log.map((l) => ({ phase: l.phase, detail: l.detail, at: l.at.toISOString() })),
              }
            : null,
        };
      }),
    );
  }

  return async (app) => {
    app.post<{ Body: { name: string; password: string } }>('/admin/login', { config: { auth: 'none' }, schema: { body: loginBody } }, async (request) => {
      const { name, password } = request.body;
      const waitMs = deps.loginThrottle.waitMs(name, request.ip);
      if (waitMs > 0) throw new AppError('RATE_LIMITED', { limit: 'login_failures' }, { headers: { 'retry-after': String(Math.ceil(waitMs / 1000)) } });
      const result = await deps.operators.login(name, password);
      if (!result) {
        deps.loginThrottle.failed(name, request.ip);
        throw new AppError('UNAUTHENTICATED', { reason: 'wrong name or password' });
      }
      deps.loginThrottle.succeeded(name);
      return { token: result.token, operator: result.operator };
    });

    app.get('/admin/me', { schema: { querystring: noQuery } }, async (request) => request.operator);

    app.get('/admin/dashboard', { schema: { querystring: noQuery } }, async () => {
      const channels = await deps.channel.listChannels();
      return {
        at: new Date().toISOString(),
        window_seconds: deps.meter.windowSeconds,
        channels: channels.map((c) => {
          const series = deps.meter.series(c.id);
          return {
            id: c.id,
            code: c.code,
            name: c.name,
            enabled: c.enabled,
            circuit: c.live.state,
            success_rate: c.live.successRate,
            latency_p50_ms: c.live.latencyP50Ms,
            latency_p99_ms: c.live.latencyP99Ms,
            calls_in_window: c.live.calls,
            payments_ok: series.ok,
            payments_failed: series.failed,
          };
        }),
      };
    });

    app.get<{ Querystring: { client_id: string; trade_id?: string; out_trade_no?: string; refund_id?: string } }>(
      '/admin/trades',
      { schema: { querystring: tradeQuery } },
      async (request) => {
        const { client_id: clientId, trade_id: tradeId, out_trade_no: outNo, refund_id: refundId } = request.query;
        if (refundId) {
          const refund = await deps.refunds.get(clientId, refundId);
          return { data: refund ? [{ kind: 'refund', ...refundJson(refund), payments: await paymentsOf(refund.id) }] : [], has_more: false };
        }
        if (!tradeId && !outNo) throw new AppError('INVALID_REQUEST', { query: 'trade_id, out_trade_no or refund_id is required' });
        const row = tradeId ? await deps.trades.get(clientId, tradeId) : await deps.trades.byOutTradeNo(clientId, outNo!);
        return { data: row ? [{ kind: 'trade', ...tradeJson(row), payments: await paymentsOf(row.id) }] : [], has_more: false };
      },
    );

    app.get<{ Params: { id: string } }>('/admin/members/:id', { schema: { params: idParamsSchema } }, async (request) => {
      const member = await deps.members.getById(request.params.id);
      if (!member) throw new AppError('NOT_FOUND');
      const accounts = (await deps.members.accounts(member.clientId, member.id)) ?? [];
      const withBalances = await Promise.all(
        accounts.map(async (account) => {
          const [balance, statement] = await Promise.all([deps.ledger.balance(account.id), deps.ledger.statement(account.id, { limit: 20 })]);
          return {
            id: account.id,
            currency: account.currency,
            posted: balance ? toSafeInteger(balance.posted) : null,
            frozen: balance ? toSafeInteger(balance.frozen) : null,
            available: balance ? toSafeInteger(balance.available) : null,
            entries: (statement?.lines ?? []).map((line) => ({ id: line.entryId, voucher_id: line.voucherId, amount: toSafeInteger(line.amount), balance_after: toSafeInteger(line.balanceAfter), created_at: line.createdAt.toISOString() })),
          };
        }),
      );
      return { id: member.id, client_id: member.clientId, type: member.type, name: member.name, external_id: member.externalId, created_at: member.createdAt.toISOString(), accounts: withBalances };
    });

    app.get('/admin/clients', { schema: { querystring: noQuery } }, async () => ({
      // Never the key or the notify secret: only their owner saw them, once.
      data: (await deps.clients.list()).map((c) => ({ id: c.id, name: c.name, notify_url: c.notifyUrl ?? null, rate_limit_per_second: c.rateLimitPerSecond ?? null, rate_limit_concurrency: c.rateLimitConcurrency ?? null })),
      has_more: false,
    }));

    app.post<{ Body: { name: string; notify_url?: string } }>('/admin/clients', { config: { auth: 'operator', role: 'admin' }, schema: { body: newClientBody } }, async (request, reply) => {
      const created = await deps.clients.create({ name: request.body.name, ...(request.body.notify_url ? { notifyUrl: request.body.notify_url } : {}) });
      return reply.code(201).send(created);
    });
  };
}
