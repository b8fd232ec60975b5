/**
 * HTTP for the channel gateway: bank callbacks (no API auth; each bank's own signature is the
 * proof), the operators' channel list and switch, and the /v1/sandbox helpers over the
 * simulated banks (absent when the sandbox is off, so they answer 404).
 */
import type { FastifyPluginAsync } from 'fastify';
import { AppError, type Config } from '../platform/index.js';
import type { ChannelGateway, ChannelView } from './channel-gateway.service.js';
import { SandboxBanks, sandboxBanks } from './sandbox-banks.js';

export function channelView(view: ChannelView): Record<string, unknown> {
  return {
    id: view.id,
    code: view.code,
    bank: view.bank,
    name: view.name,
    services: view.services,
    card_bins: view.cardBins,
    currency: view.currency,
    min_amount: Number(view.minAmount),
    max_amount: Number(view.maxAmount),
    cost_rate_bp: view.costRateBp,
    cost_fixed: Number(view.costFixed),
    enabled: view.enabled,
    switched_by: view.switchedBy,
    switched_at: view.switchedAt?.toISOString() ?? null,
    circuit: view.live.state,
    success_rate: view.live.successRate,
    calls_in_window: view.live.calls,
    latency_p50_ms: view.live.latencyP50Ms,
    latency_p99_ms: view.live.latencyP99Ms,
    circuit_opened_at: view.live.openedAt,
  };
}

const bankParams = { type: 'object', required: ['bank'], additionalProperties: false, properties: { bank: { type: 'string', minLength: 1, maxLength: 32 } } } as const;

export function channelRoutes(gateway: ChannelGateway, config: Config): FastifyPluginAsync {
  return async (app) => {
    // Bank beta calls back form-encoded; its raw body is kept for the signature check.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
      request.rawBody = body as string;
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    app.post<{ Params: { bank: string } }>(
      '/callbacks/banks/:bank',
      // The body is the bank's, in its format; the adapter validates it after the signature.
      { config: { auth: 'none' }, schema: { params: bankParams, body: { type: 'object' } } },
      async (request, reply) => {
        const answer = await gateway.handleCallback(request.params.bank, request.headers, request.rawBody ?? '');
        if (!answer) throw new AppError('NOT_FOUND');
        return reply.code(answer.status).type(answer.contentType).send(answer.body);
      },
    );

    app.get('/admin/channels', { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: { type: 'object', additionalProperties: false } } }, async () => ({
      data: (await gateway.listChannels()).map(channelView),
      has_more: false,
    }));

    app.post<{ Params: { id: string }; Body: { state: 'on' | 'off' } }>(
      '/admin/channels/:id/switch',
      {
        config: { auth: 'operator', role: 'operator' },
        schema: {
          params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
          body: { type: 'object', required: ['state'], additionalProperties: false, properties: { state: { type: 'string', enum: ['on', 'off'] } } },
        },
      },
      async (request) => {
        const view = await gateway.switchChannel(request.params.id, request.body.state, request.operator?.name ?? 'operator');
        if (!view) throw new AppError('NOT_FOUND');
        return channelView(view);
      },
    );

    if (config.sandbox) await app.register(sandboxRoutes(new SandboxBanks(config.banks)));
  };
}

function sandboxRoutes(banks: SandboxBanks): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { phone: string } }>(
      '/v1/sandbox/sms',
      { schema: { querystring: { type: 'object', required: ['phone'], additionalProperties: false, properties: { phone: { type: 'string', pattern: '^\\+?[0-9]{6,15}$' } } } } },
      async (request) => {
        const found = await banks.lastSms(request.query.phone);
        if (found === 'unavailable') throw new AppError('DEPENDENCY_UNAVAILABLE', { dependency: 'simulated banks' });
        if (!found) throw new AppError('NOT_FOUND');
        return { code: found.code, bank: found.bank, sent_at: found.sentAt };
      },
    );

    app.get('/v1/sandbox/banks', { schema: { querystring: { type: 'object', additionalProperties: false } } }, async () => {
      const data = await Promise.all(
        sandboxBanks.map(async (bank) => {
          const info = await banks.call(bank, '/info');
          if (!info.ok || info.status !== 200) return { bank, reachable: false };
          const body = info.body as Record<string, unknown>;
          return { bank, reachable: true, card_prefixes: body.card_prefixes, wire_format: body.wire_format, statement_format: body.statement_format, behaviour: body.behaviour };
        }),
      );
      return { data, has_more: false };
    });

    const rate = { type: 'number', minimum: 0, maximum: 1 } as const;
    const ms = { type: 'integer', minimum: 0, maximum: 600_000 } as const;
    app.post<{ Params: { bank: string }; Body: Record<string, unknown> }>(
      '/v1/sandbox/banks/:bank/behaviour',
      {
        schema: {
          params: bankParams,
          body: {
            type: 'object',
            additionalProperties: false,
            properties: { latency_ms: ms, latency_jitter_ms: ms, failure_rate: rate, timeout_rate: rate, duplicate_callback_rate: rate, late_callback_ms: ms, unknown_settle_ms: ms, down: { type: 'boolean' } },
          },
        },
      },
      async (request) => {
        const bank = request.params.bank;
        if (!banks.has(bank)) throw new AppError('NOT_FOUND');
        const answer = await banks.call(bank, '/behaviour', request.body);
        if (!answer.ok || answer.status !== 200) throw new AppError('DEPENDENCY_UNAVAILABLE', { dependency: `simulated bank ${bank}` });
        return { bank, behaviour: answer.body };
      },
    );
  };
}
