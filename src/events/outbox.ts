/**
 * The outbox: an emitter writes its event in the same local transaction as its state change,
 * into a table in its own schema (any subsystem may live in a database of its own, so the outbox
 * must sit beside the state). The relay finds `<schema>.outbox` tables and publishes their rows.
 */
import assert from 'node:assert/strict';
import { sql, type Transaction } from 'kysely';
import { newId } from '../platform/index.js';
import { eventKeyMaxLength, eventTypePattern, schemaNamePattern, toEventJson, type EventInput } from './event.js';

/**
 * The standard outbox table. Put this in the emitting subsystem's own migration, e.g. in
 * src/trade/migrations/00N_outbox.sql, with `trade` for the schema:
 *
 *   create table trade.outbox (
 *     seq bigint generated always as identity primary key,
 *     id uuid not null,
 *     type text not null,
 *     key text not null,
 *     payload jsonb not null,
 *     context jsonb not null,
 *     broadcast boolean not null default false,
 *     occurred_at timestamptz not null default now()
 *   );
 */
export function outboxTableSql(schema: string): string {
  assert.match(schema, schemaNamePattern);
  return `create table ${schema}.outbox (
  seq bigint generated always as identity primary key,
  id uuid not null,
  type text not null,
  key text not null,
  payload jsonb not null,
  context jsonb not null,
  broadcast boolean not null default false,
  occurred_at timestamptz not null default now()
);\n`;
}

/**
 * The standard processed-event table of a consuming subsystem (its own migration), e.g.:
 *
 *   create table notify.processed_event (
 *     consumer text not null,
 *     event_id uuid not null,
 *     handled_by text not null,
 *     processed_at timestamptz not null default now(),
 *     primary key (consumer, event_id)
 *   );
 *   create index processed_event_age on notify.processed_event (processed_at);
 */
export function processedTableSql(schema: string): string {
  assert.match(schema, schemaNamePattern);
  return `create table ${schema}.processed_event (
  consumer text not null,
  event_id uuid not null,
  handled_by text not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
create index processed_event_age on ${schema}.processed_event (processed_at);\n`;
}

/**
 * Writes an event into `<schema>.outbox` inside the caller's transaction; returns its id.
 * Emit after the compare-and-set of the state change, so that two transactions on one key (which
 * that row lock serialises) write their events in commit order.
 */
export async function emit<DB>(trx: Transaction<DB>, schema: string, event: EventInput): Promise<string> {
  assert.ok(trx.isTransaction, 'emit must run inside the state change transaction');
  assert.match(schema, schemaNamePattern);
  assert.match(event.type, eventTypePattern, `event type "${event.type}" must be dotted lower case, past tense`);
  assert.ok(event.key.length > 0 && event.key.length <= eventKeyMaxLength, 'event key must be 1..200 characters');
  const id = newId();
  const payload = JSON.stringify(toEventJson(event.payload));
  const context = JSON.stringify(toEventJson(event.context));
  await sql`insert into ${sql.table(`${schema}.outbox`)} (id, type, key, payload, context, broadcast)
    values (${id}, ${event.type}, ${event.key}, ${payload}::jsonb, ${context}::jsonb, ${event.broadcast ?? false})`.execute(trx);
  return id;
}
