/**
 * The Idempotency-Key contract of API.md for every POST by an API client: the first request
 * claims the key, its answer is stored; a repeat with the same body gets that answer with
 * `Idempotent-Replayed: true`; the same key with another body is a 409.
 */
import type { FastifyInstance } from 'fastify';
import type { IdempotencyStore } from '../access/index.js';
import { AppError, sha256Hex } from '../platform/index.js';

const claimed = Symbol('idempotencyClaimed');
const keyPattern = /^[\x21-\x7e]{1,255}$/;

export function installIdempotencyHooks(app: FastifyInstance, store: IdempotencyStore): void {
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || !request.client) return;
    const key = request.headers['idempotency-key'];
    if (key === undefined) return;
    if (typeof key !== 'string' || !keyPattern.test(key)) throw new AppError('INVALID_REQUEST', { header: 'Idempotency-Key' });
    const hash = sha256Hex(`${request.method} ${request.url}\n${request.rawBody ?? ''}`);
    const claim = await store.claim(request.client.id, key, hash);
    if (claim.kind === 'conflict') throw new AppError('IDEMPOTENCY_KEY_REUSED');
    if (claim.kind === 'in_progress') throw new AppError('IDEMPOTENCY_IN_PROGRESS', undefined, { headers: { 'retry-after': '1' } });
    if (claim.kind === 'replay') {
      return reply.code(claim.status).header('idempotent-replayed', 'true').header('content-type', 'application/json; charset=utf-8').send(claim.body);
    }
    (request as unknown as Record<symbol, string>)[claimed] = key;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const key = (request as unknown as Record<symbol, string | undefined>)[claimed];
    if (!key || !request.client) return payload;
    // A 5xx is not an answer: give the key back so the client may retry.
    if (reply.statusCode >= 500) await store.release(request.client.id, key);
    else await store.complete(request.client.id, key, reply.statusCode, typeof payload === 'string' ? payload : JSON.stringify(payload ?? ''));
    return payload;
  });
}
