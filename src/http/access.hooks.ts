/**
 * Authentication and per-client limits. Runs first on every request: a route's config says who
 * may call it. Clients are limited by requests per second (@fastify/rate-limit, keyed by
 * client) and by requests in flight (counted here: the rate-limit plugin has no concurrency).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { roleAllows, type ClientService, type OperatorService } from '../access/index.js';
import { AppError, type Config } from '../platform/index.js';

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** The auth a route needs: its config, else by path (/admin → operator, /v1 → client). */
function authOf(request: FastifyRequest): 'client' | 'operator' | 'none' {
  const configured = request.routeOptions.config?.auth;
  if (configured) return configured;
  const url = request.routeOptions.url ?? '';
  if (url.startsWith('/admin')) return 'operator';
  if (url.startsWith('/v1')) return 'client';
  return 'none';
}

export interface AccessHookDeps {
  readonly clients: ClientService;
  readonly operators: OperatorService;
  readonly config: Config;
}

export async function installAccessHooks(app: FastifyInstance, deps: AccessHookDeps): Promise<void> {
  const inFlight = new Map<string, number>();

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const auth = authOf(request);
    if (auth === 'none') return;
    const token = bearer(request);
    if (auth === 'operator') {
      const operator = token ? await deps.operators.authenticate(token) : undefined;
      if (!operator) throw new AppError('UNAUTHENTICATED');
      if (!roleAllows(operator.role, request.routeOptions.config?.role ?? 'viewer')) throw new AppError('FORBIDDEN');
      request.operator = operator;
      request.ctx = { client: `operator:${operator.name}`, traceId: request.id };
      return;
    }
    const client = token ? await deps.clients.authenticate(token) : undefined;
    if (!client) throw new AppError('UNAUTHENTICATED');
    request.client = client;
    request.ctx = { client: client.id, traceId: request.id };

    const limit = client.rateLimitConcurrency ?? deps.config.rateLimitConcurrency;
    const current = inFlight.get(client.id) ?? 0;
    if (current >= limit) throw new AppError('RATE_LIMITED', { limit: 'concurrency', max: limit }, { headers: { 'retry-after': '1' } });
    inFlight.set(client.id, current + 1);
    let released = false;
    // 'close' fires once whether the response finished or the caller went away.
    reply.raw.once('close', () => {
      if (released) return;
      released = true;
      const now = (inFlight.get(client.id) ?? 1) - 1;
      if (now <= 0) inFlight.delete(client.id);
      else inFlight.set(client.id, now);
    });
  });

  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: 1_000,
    max: (request) => request.client?.rateLimitPerSecond ?? deps.config.rateLimitPerSecond,
    allowList: (request) => request.client === undefined,
    keyGenerator: (request) => request.client?.id ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', { limit: 'per_second', max: context.max }, { headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) } }),
  });
}
