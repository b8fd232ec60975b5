/**
 * The HTTP front door, end to end on a real database: auth, isolation between clients, the
 * error envelope for every kind of bad input (with no state change), idempotency, rate limits,
 * trace ids, health and metrics. A small probe route stands in for a business endpoint.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import { ClientService, IdempotencyStore, OperatorService, type AccessDB } from '../../src/access/index.js';
import { amountSchema, buildHttpApp, currencySchema, idParamsSchema } from '../../src/http/index.js';
import { AppError, createLogger, loadConfig, newId, type Kysely } from '../../src/platform/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';

let platform: TestPlatform;
let app: FastifyInstance;
let db: Kysely<AccessDB>;
let alice: { id: string; apiKey: string };
let bob: { id: string; apiKey: string };
let slowGate: { release: () => void; wait: Promise<void> } | undefined;

const probeRoutes: FastifyPluginAsync = async (instance) => {
  instance.post<{ Body: { amount: number; currency?: string; memo?: string } }>(
    '/v1/probes',
    {
      schema: {
        body: {
          type: 'object',
          required: ['amount'],
          additionalProperties: false,
          properties: { amount: amountSchema, currency: currencySchema, memo: { type: 'string', maxLength: 100 } },
        },
      },
    },
    async (request, reply) => {
      const id = newId();
      await sql`insert into access.probe (id, client_id, amount) values (${id}, ${request.client!.id}, ${BigInt(request.body.amount)})`.execute(db);
      return reply.code(201).send({ id, amount: request.body.amount });
    },
  );
  instance.get<{ Params: { id: string } }>('/v1/probes/:id', { schema: { params: idParamsSchema } }, async (request) => {
    const rows = await sql<{ id: string; amount: bigint }>`select id, amount from access.probe where id::text = ${request.params.id} and client_id = ${request.client!.id}`.execute(db);
    const row = rows.rows[0];
    if (!row) throw new AppError('NOT_FOUND');
    return { id: row.id, amount: Number(row.amount) };
  });
  instance.post('/v1/slow', { schema: { body: { type: 'object', additionalProperties: false } } }, async () => {
    await slowGate?.wait;
    return { ok: true };
  });
  instance.get('/admin/whoami', { config: { role: 'operator' }, schema: { querystring: { type: 'object', additionalProperties: false } } }, async (request) => ({ name: request.operator!.name }));
};

async function probeCount(): Promise<number> {
  const result = await sql<{ n: bigint }>`select count(*) as n from access.probe`.execute(db);
  return Number(result.rows[0]!.n);
}

before(async () => {
  platform = await startTestPlatform({ label: 'http' });
  db = platform.databases.get<AccessDB>('access');
  await sql`create table access.probe (id uuid primary key, client_id uuid not null, amount bigint not null)`.execute(db);
  const config = loadConfig({}, { databaseUrl: platform.config.databaseUrl, rateLimitPerSecond: 50, rateLimitConcurrency: 2, bodyLimitBytes: 2048 });
  app = await buildHttpApp({
    config,
    logger: createLogger('silent'),
    clients: new ClientService(db),
    operators: new OperatorService(db),
    idempotency: new IdempotencyStore(db, 30_000),
    readiness: () => platform.databases.ping(),
    routes: [probeRoutes],
  });
  await app.ready();
  alice = await platform.newClient('alice');
  bob = await platform.newClient('bob');
});

after(async () => {
  await app?.close();
  await platform?.close();
});

function post(key: string, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/probes',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('authentication and isolation', () => {
  test('no key, a wrong key or a malformed header is 401 with the envelope', async () => {
    for (const authorization of [undefined, 'Bearer pk_nope', 'Basic abc', 'Bearer']) {
      const res = await app.inject({ method: 'GET', url: `/v1/probes/${newId()}`, headers: authorization ? { authorization } : {} });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error.code, 'UNAUTHENTICATED');
      assert.ok(res.headers['x-trace-id']);
    }
  });

  test("another client's object is 404, its own is 200", async () => {
    const created = await post(alice.apiKey, { amount: 100 });
    assert.equal(created.statusCode, 201);
    const id = created.json().id;
    const own = await app.inject({ method: 'GET', url: `/v1/probes/${id}`, headers: { authorization: `Bearer ${alice.apiKey}` } });
    assert.equal(own.statusCode, 200);
    const other = await app.inject({ method: 'GET', url: `/v1/probes/${id}`, headers: { authorization: `Bearer ${bob.apiKey}` } });
    assert.equal(other.statusCode, 404);
    assert.equal(other.json().error.code, 'NOT_FOUND');
  });

  test('operator routes need an operator token of a sufficient role', async () => {
    const viewer = await platform.newOperator('viewer');
    const admin = await platform.newOperator('admin');
    const asClient = await app.inject({ method: 'GET', url: '/admin/whoami', headers: { authorization: `Bearer ${alice.apiKey}` } });
    assert.equal(asClient.statusCode, 401);
    const asViewer = await app.inject({ method: 'GET', url: '/admin/whoami', headers: { authorization: `Bearer ${viewer.token}` } });
    assert.equal(asViewer.statusCode, 403);
    assert.equal(asViewer.json().error.code, 'FORBIDDEN');
    const asAdmin = await app.inject({ method: 'GET', url: '/admin/whoami', headers: { authorization: `Bearer ${admin.token}` } });
    assert.equal(asAdmin.statusCode, 200);
    assert.equal(asAdmin.json().name, admin.name);
  });
});

describe('bad input is a 400 with a documented code and changes nothing', () => {
  const cases: Array<[string, unknown, string]> = [
    ['malformed JSON', '{"amount": 1', 'MALFORMED_JSON'],
    ['not an object', '[1,2]', 'INVALID_REQUEST'],
    ['missing amount', { memo: 'x' }, 'INVALID_REQUEST'],
    ['unknown field', { amount: 1, surprise: true }, 'INVALID_REQUEST'],
    ['wrong type of another field', { amount: 1, memo: 12 }, 'INVALID_REQUEST'],
    ['bad currency', { amount: 1, currency: 'cny' }, 'INVALID_REQUEST'],
    ['amount as a float', { amount: 10.5 }, 'INVALID_AMOUNT'],
    ['amount as a string', { amount: '100' }, 'INVALID_AMOUNT'],
    ['amount zero', { amount: 0 }, 'INVALID_AMOUNT'],
    ['amount negative', { amount: -1 }, 'INVALID_AMOUNT'],
    ['amount above 2^53', '{"amount": 9007199254740993}', 'INVALID_AMOUNT'],
    ['amount far above 2^53', '{"amount": 1e300}', 'INVALID_AMOUNT'],
    ['amount null', { amount: null }, 'INVALID_AMOUNT'],
    ['oversized body', { amount: 1, memo: 'x'.repeat(4096) }, 'BODY_TOO_LARGE'],
  ];
  for (const [name, body, code] of cases) {
    test(name, async () => {
      const before = await probeCount();
      const res = await post(alice.apiKey, body);
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, code);
      assert.equal(typeof res.json().error.message, 'string');
      assert.equal(await probeCount(), before);
    });
  }

  test('a body that is not JSON is 415', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/probes', headers: { authorization: `Bearer ${alice.apiKey}`, 'content-type': 'text/plain' }, payload: 'amount=1' });
    assert.equal(res.statusCode, 415, res.body);
    assert.equal(res.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('an unknown route is a 404 envelope, not a 500', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/nowhere', headers: { authorization: `Bearer ${alice.apiKey}` } });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'NOT_FOUND');
  });
});

describe('Idempotency-Key', () => {
  test('same key and body replays the stored answer; no second effect', async () => {
    const before = await probeCount();
    const first = await post(alice.apiKey, { amount: 7 }, { 'idempotency-key': 'k-1' });
    const second = await post(alice.apiKey, { amount: 7 }, { 'idempotency-key': 'k-1' });
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.deepEqual(second.json(), first.json());
    assert.equal(await probeCount(), before + 1);
  });

  test('same key with a different body is 409 IDEMPOTENCY_KEY_REUSED', async () => {
    await post(alice.apiKey, { amount: 8 }, { 'idempotency-key': 'k-2' });
    const res = await post(alice.apiKey, { amount: 9 }, { 'idempotency-key': 'k-2' });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('keys are per client', async () => {
    const a = await post(alice.apiKey, { amount: 10 }, { 'idempotency-key': 'shared' });
    const b = await post(bob.apiKey, { amount: 10 }, { 'idempotency-key': 'shared' });
    assert.equal(b.headers['idempotent-replayed'], undefined);
    assert.notEqual(a.json().id, b.json().id);
  });

  test('concurrent requests with one key have exactly one effect', async () => {
    const before = await probeCount();
    const results = await Promise.all(Array.from({ length: 10 }, () => post(alice.apiKey, { amount: 11 }, { 'idempotency-key': 'k-race' })));
    const created = results.filter((r) => r.statusCode === 201);
    // The others are told the key is busy, or (this app allows 2 in flight) to slow down.
    const refused = results.filter((r) => ['IDEMPOTENCY_IN_PROGRESS', 'RATE_LIMITED'].includes(r.json().error?.code));
    assert.equal(created.length + refused.length, 10);
    assert.ok(created.length >= 1);
    assert.equal(new Set(created.map((r) => r.json().id)).size, 1);
    assert.equal(await probeCount(), before + 1);
  });

  test('a rejected request is stored too: the same bad request replays its 400', async () => {
    const first = await post(alice.apiKey, { amount: 1, nope: 1 }, { 'idempotency-key': 'k-bad' });
    assert.equal(first.statusCode, 400);
  });
});

describe('limits', () => {
  test('concurrency over the per-client limit is 429 with Retry-After', async () => {
    let release!: () => void;
    slowGate = { release: () => release(), wait: new Promise<void>((resolve) => (release = resolve)) };
    const slow = (key: string) => app.inject({ method: 'POST', url: '/v1/slow', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: '{}' });
    const c = await platform.newClient('carol');
    const inFlight = [slow(c.apiKey), slow(c.apiKey)];
    await new Promise((resolve) => setTimeout(resolve, 50));
    const third = await slow(c.apiKey);
    assert.equal(third.statusCode, 429);
    assert.equal(third.json().error.code, 'RATE_LIMITED');
    assert.ok(Number(third.headers['retry-after']) >= 1);
    const otherClient = await app.inject({ method: 'GET', url: `/v1/probes/${newId()}`, headers: { authorization: `Bearer ${bob.apiKey}` } });
    assert.equal(otherClient.statusCode, 404, 'another client is not limited by this one');
    slowGate.release();
    for (const res of await Promise.all(inFlight)) assert.equal(res.statusCode, 200);
    slowGate = undefined;
    assert.equal((await slow(c.apiKey)).statusCode, 200, 'slots are given back');
  });

  test('requests per second over the limit are 429 with Retry-After', async () => {
    const d = await platform.newClient('dave');
    const results = await Promise.all(
      Array.from({ length: 60 }, () => app.inject({ method: 'GET', url: `/v1/probes/${newId()}`, headers: { authorization: `Bearer ${d.apiKey}` } })),
    );
    const limited = results.filter((r) => r.statusCode === 429);
    assert.ok(limited.length >= 10, `limited ${limited.length}`);
    assert.ok(results.filter((r) => r.statusCode === 404).length <= 50);
    assert.equal(limited[0]!.json().error.code, 'RATE_LIMITED');
    assert.ok(Number(limited[0]!.headers['retry-after']) >= 1);
  });
});

describe('schemas', () => {
  test('a route registered without a JSON schema stops the app from building', async () => {
    const unchecked: FastifyPluginAsync = async (instance) => {
      instance.post('/v1/unchecked', async () => ({ ok: true }));
    };
    const config = loadConfig({}, { databaseUrl: platform.config.databaseUrl });
    await assert.rejects(
      buildHttpApp({
        config,
        logger: createLogger('silent'),
        clients: new ClientService(db),
        operators: new OperatorService(db),
        idempotency: new IdempotencyStore(db, 30_000),
        readiness: async () => ({}),
        routes: [unchecked],
      }).then((built) => built.ready()),
      /has no JSON schema/,
    );
  });
});

describe('operations endpoints', () => {
  test('healthz, readyz and metrics answer without auth', async () => {
    assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.json().status, 'ok');
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /paycore_http_requests_total\{route="\/v1\/probes",method="POST",status="201"\}/);
    assert.match(metrics.body, /paycore_http_request_duration_seconds_bucket/);
    assert.match(metrics.body, /paycore_http_requests_in_flight/);
  });

  test('an incoming X-Trace-Id is kept; otherwise one is made', async () => {
    const kept = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-trace-id': 'trace-abc-12345' } });
    assert.equal(kept.headers['x-trace-id'], 'trace-abc-12345');
    const made = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-trace-id': 'bad id!' } });
    assert.match(String(made.headers['x-trace-id']), /^[0-9a-f-]{36}$/);
  });
});
