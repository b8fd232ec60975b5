/** Shared pieces of the events and notify tests: waiting, a recording test consumer, NATS probing. */
import net from 'node:net';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { ConsumerSpec } from '../../src/events/index.js';
import type { Config } from '../../src/platform/index.js';

/** Polls `check` until it returns a value other than undefined/false, or fails after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Config that makes the event loops fast enough for tests that run in seconds. */
export const fastEvents: Partial<Config> = {
  eventsBuckets: 4,
  eventsRelayIntervalMs: 20,
  eventsConsumerIntervalMs: 20,
  eventsLeaseMs: 2_000,
  eventsRetryBackoffMs: [50, 100, 150],
};

/** The table a recording consumer writes to (in the events schema of a test database). */
export async function createEffectTable(db: Kysely<unknown>): Promise<void> {
  await sql`create table if not exists events.test_effect (
    seq bigint generated always as identity primary key,
    consumer text not null,
    event_id uuid not null,
    key text not null,
    n integer not null,
    unique (consumer, event_id)
  )`.execute(db);
}

/** A consumer recording each event it applies; the unique index makes a second effect an error. */
export function recordingConsumer(name: string, options: { fail?: (payload: { n: number; key: string }) => boolean; topics?: string[] } = {}): ConsumerSpec & { calls: number } {
  const spec = {
    name,
    topics: options.topics ?? ['test.*'],
    subsystem: 'events' as const,
    calls: 0,
    async handle(event: { id: string; key: string; payload: unknown }, trx: Transaction<any>) {
      spec.calls += 1;
      const payload = event.payload as { n: number; key: string };
      if (options.fail?.(payload)) throw new Error(`refused ${event.key}#${payload.n}`);
      await sql`insert into events.test_effect (consumer, event_id, key, n) values (${name}, ${event.id}, ${event.key}, ${payload.n})`.execute(trx);
    },
  };
  return spec;
}

/** The effects of a consumer grouped by key, in the order they were applied. */
export async function effectsByKey(db: Kysely<unknown>, consumer: string): Promise<Map<string, number[]>> {
  const rows = await sql<{ key: string; n: number }>`select key, n from events.test_effect where consumer = ${consumer} order by seq`.execute(db);
  const byKey = new Map<string, number[]>();
  for (const row of rows.rows) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row.n]);
  return byKey;
}

/** True when a NATS server answers on 127.0.0.1:4222. */
export function natsAvailable(port = 4222): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('INFO')));
    socket.once('error', () => done(false));
  });
}
