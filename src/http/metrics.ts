/** Prometheus metrics per route: request rate, latency histogram, requests in flight. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface HttpMetrics {
  readonly registry: Registry;
}

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

const started = Symbol('paycoreStarted');

export function installMetrics(app: FastifyInstance, registry: Registry): HttpMetrics {
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'paycore_http_requests_total',
    help: 'HTTP requests by route, method and status.',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'paycore_http_request_duration_seconds',
    help: 'HTTP request latency by route.',
    labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'paycore_http_requests_in_flight',
    help: 'HTTP requests being served, by route.',
    labelNames: ['route'],
    registers: [registry],
  });
  app.addHook('onRequest', async (request) => {
    (request as unknown as Record<symbol, bigint>)[started] = process.hrtime.bigint();
    inFlight.inc({ route: routeOf(request) });
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = routeOf(request);
    const begin = (request as unknown as Record<symbol, bigint>)[started];
    inFlight.dec({ route });
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    if (begin !== undefined) latency.observe({ route, method: request.method }, Number(process.hrtime.bigint() - begin) / 1e9);
  });
  app.get('/metrics', { config: { auth: 'none' }, schema: { querystring: { type: 'object', additionalProperties: false } } }, async (_request, reply) => {
    void reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return { registry };
}
