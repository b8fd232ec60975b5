/**
 * The HTTP front door: Fastify with strict JSON schemas (no coercion, unknown fields refused),
 * the error envelope, auth and limits, idempotency, metrics and the health probes. Subsystems
 * hand in their routes as plugins; this file knows none of them.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { Registry } from 'prom-client';
import type { ClientService, IdempotencyStore, OperatorService } from '../access/index.js';
import { AppError, newId, type Config, type Logger } from '../platform/index.js';
import { installAccessHooks } from './access.hooks.js';
import { installErrorHandler } from './error-handler.js';
import { installIdempotencyHooks } from './idempotency.hooks.js';
import { installMetrics } from './metrics.js';

export interface HttpDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly clients: ClientService;
  readonly operators: OperatorService;
  readonly idempotency: IdempotencyStore;
  /** Readiness: every check must answer true. */
  readonly readiness: () => Promise<Record<string, boolean>>;
  readonly routes: ReadonlyArray<FastifyPluginAsync>;
  /** The metrics registry other subsystems also export to; a new one when absent. */
  readonly metrics?: Registry;
}

const traceIdPattern = /^[A-Za-z0-9._-]{8,64}$/;

export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-trace-id'];
      return typeof incoming === 'string' && traceIdPattern.test(incoming) ? incoming : newId();
    },
    // One log line per request is written by the onResponse hook below, with the route pattern.
    logController: new LogController({ requestIdLogLabel: 'traceId', disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: true } },
  });

  app.decorateRequest('ctx', null as never);
  app.decorateRequest('client', undefined);
  app.decorateRequest('operator', undefined);
  app.decorateRequest('rawBody', undefined);

  // JSON bodies are kept raw as well: the idempotency hash and signatures need the exact bytes.
  // Only JSON is accepted by default; a route that takes another type registers its own parser.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AppError('MALFORMED_JSON'), undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    request.ctx = { client: 'anonymous', traceId: request.id };
    void reply.header('x-trace-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, route: request.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  // Every route validates its input: one registered without a schema is a bug, caught at build time.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    const hasSchema = schema !== undefined && ['body', 'querystring', 'params', 'headers', 'response'].some((part) => schema[part] !== undefined);
    if (!hasSchema) throw new Error(`route ${String(route.method)} ${route.url} has no JSON schema`);
  });

  installErrorHandler(app);
  installMetrics(app, deps.metrics ?? new Registry());
  await installAccessHooks(app, deps);
  installIdempotencyHooks(app, deps.idempotency);

  app.get('/healthz', { config: { auth: 'none' }, schema: { querystring: { type: 'object', additionalProperties: false } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { auth: 'none' }, schema: { querystring: { type: 'object', additionalProperties: false } } }, async (_request, reply) => {
    const checks = await deps.readiness();
    const ok = Object.values(checks).every(Boolean);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });

  for (const routes of deps.routes) await app.register(routes);
  return app;
}
