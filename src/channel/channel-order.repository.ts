/**
 * Channel orders in the database. Every status change is a compare-and-set; claims for sending
 * and querying are single UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) statements, so
 * several processes share the work without doing it twice.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { newId } from '../platform/index.js';
import type { ChannelDB, ChannelOrderRow, ChannelOrderTable, OrderStatus } from './channel.table.js';

type NewOrder = Pick<ChannelOrderTable, 'id' | 'instruction_id' | 'service' | 'channel_id' | 'bank' | 'agreement_id' | 'original_order_id' | 'amount' | 'currency' | 'send_claimed_until'> & { ctx: string };

/** Inserts an order; undefined when (instruction, service) already has one. */
export async function insertOrder(db: Kysely<ChannelDB> | Transaction<ChannelDB>, values: NewOrder): Promise<ChannelOrderRow | undefined> {
  return db
    .insertInto('channel.channel_order')
    .values({ ...values, status: 'processing' })
    .onConflict((oc) => oc.columns(['instruction_id', 'service']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function findOrder(db: Kysely<ChannelDB>, id: string): Promise<ChannelOrderRow | undefined> {
  return db.selectFrom('channel.channel_order').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findByInstruction(db: Kysely<ChannelDB>, instructionId: string, service: ChannelOrderRow['service']): Promise<ChannelOrderRow | undefined> {
  return db.selectFrom('channel.channel_order').selectAll().where('instruction_id', '=', instructionId).where('service', '=', service).executeTakeFirst();
}

/** The bank accepted it: now we wait for the callback, and query if none comes. */
export async function markSent(db: Kysely<ChannelDB>, id: string, bankRef: string | null, nextQueryAt: Date): Promise<void> {
  await db
    .updateTable('channel.channel_order')
    .set({ send_state: 'sent', sent_at: sql`coalesce(sent_at, now())`, bank_ref: sql`coalesce(bank_ref, ${bankRef})`, next_query_at: nextQueryAt, send_claimed_until: null })
    .where('id', '=', id)
    .where('send_state', '=', 'pending')
    .execute();
}

/** No answer: the bank may or may not have it. Queried from now on; never sent elsewhere. */
export async function markUnknown(db: Kysely<ChannelDB>, id: string, nextQueryAt: Date): Promise<void> {
  await db
    .updateTable('channel.channel_order')
    .set({ status: sql`case when status = 'processing' then 'unknown' else status end`, send_state: 'sent', sent_at: sql`coalesce(sent_at, now())`, next_query_at: nextQueryAt, send_claimed_until: null })
    .where('id', '=', id)
    .where('send_state', '=', 'pending')
    .execute();
}

/** Moves a never-received order to another channel; false when it was sent or moved meanwhile. */
export async function reroute(db: Kysely<ChannelDB>, id: string, fromChannelId: string, to: { id: string; bank: string }): Promise<boolean> {
  const result = await db
    .updateTable('channel.channel_order')
    .set({ channel_id: to.id, bank: to.bank, rerouted_from: sql`array_append(rerouted_from, ${fromChannelId}::text)`, ctx: sql`jsonb_set(ctx, '{institution}', to_jsonb(${to.bank}::text))` })
    .where('id', '=', id)
    .where('channel_id', '=', fromChannelId)
    .where('send_state', '=', 'pending')
    .where('status', '=', 'processing')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export interface Finish {
  readonly status: Extract<OrderStatus, 'success' | 'failed'>;
  readonly resultCode: string | null;
  readonly resultMessage: string | null;
  readonly bankRef: string | null;
  readonly resolvedBy: NonNullable<ChannelOrderRow['resolved_by']>;
}

/**
 * processing|unknown → success|failed, once: the compare-and-set and the outbox event are one
 * statement (data-modifying CTEs commit together), so the common path costs one round trip.
 * Undefined when the order was already final (a late or repeated result) or, with `expect`,
 * when the bank or amount do not match.
 */
export async function finishOrder(db: Kysely<ChannelDB>, id: string, finish: Finish, expect?: { bank: string; amount: bigint; currency: string }): Promise<ChannelOrderRow | undefined> {
  const guard = expect ? sql`and bank = ${expect.bank} and amount = ${expect.amount} and currency = ${expect.currency}` : sql``;
  const type = finish.status === 'success' ? 'channel.order_succeeded' : 'channel.order_failed';
  const result = await sql<ChannelOrderRow>`
    with done as (
      update channel.channel_order set
        status = ${finish.status},
        result_code = ${finish.resultCode},
        result_message = ${finish.resultMessage},
        bank_ref = coalesce(${finish.bankRef}, bank_ref),
        resolved_by = ${finish.resolvedBy},
        -- Milliseconds, so a poller's cursor (a JS Date) names the row exactly.
        finished_at = date_trunc('milliseconds', now()),
        next_query_at = null,
        send_claimed_until = null
      where id = ${id} and status in ('processing', 'unknown') ${guard}
      returning *
    ), event as (
      -- The event payload (bigint amounts as decimal strings, as src/events wants them).
      insert into channel.outbox (id, type, key, payload, context)
      select ${newId()}, ${type}, done.id::text, jsonb_build_object(
          'id', done.id, 'instruction_id', done.instruction_id, 'service', done.service, 'bank', done.bank,
          'channel_id', done.channel_id, 'amount', done.amount::text, 'currency', done.currency, 'status', done.status,
          'result_code', done.result_code, 'bank_ref', done.bank_ref, 'resolved_by', done.resolved_by,
          'finished_at', to_char(done.finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
        done.ctx
      from done
    )
    select * from done`.execute(db);
  return result.rows[0];
}

/** Claims open orders whose next query is due, pushing their next query out by the backoff. */
export async function claimDueQueries(db: Kysely<ChannelDB>, limit: number, backoffBaseMs: number, backoffMaxMs: number): Promise<ChannelOrderRow[]> {
  const result = await sql<ChannelOrderRow>`
    update channel.channel_order set
      query_attempts = query_attempts + 1,
      next_query_at = now() + least(${backoffMaxMs}::float8, ${backoffBaseMs}::float8 * power(2, least(query_attempts, 30))) * interval '1 millisecond'
    where id in (
      select id from channel.channel_order
      where status in ('processing', 'unknown') and send_state = 'sent' and next_query_at <= now()
      order by next_query_at
      limit ${limit}
      for update skip locked
    )
    returning *`.execute(db);
  return result.rows;
}

/** Claims orders that were committed but never sent (the process died, or the send queue was full). */
export async function claimUnsent(db: Kysely<ChannelDB>, limit: number, claimMs: number): Promise<ChannelOrderRow[]> {
  const result = await sql<ChannelOrderRow>`
    update channel.channel_order set send_claimed_until = now() + ${claimMs}::float8 * interval '1 millisecond'
    where id in (
      select id from channel.channel_order
      where send_state = 'pending' and status = 'processing' and (send_claimed_until is null or send_claimed_until < now())
      order by created_at
      limit ${limit}
      for update skip locked
    )
    returning *`.execute(db);
  return result.rows;
}

/** Sum of refunds of a payment that succeeded or may still succeed. */
export async function refundedOrPending(trx: Transaction<ChannelDB>, originalOrderId: string): Promise<bigint> {
  const row = await trx
    .selectFrom('channel.channel_order')
    .select(sql<bigint>`coalesce(sum(amount), 0)::int8`.as('total'))
    .where('original_order_id', '=', originalOrderId)
    .where('service', '=', 'refund')
    .where('status', '!=', 'failed')
    .executeTakeFirstOrThrow();
  return row.total;
}

export async function recordAnomaly(db: Kysely<ChannelDB>, bank: string, orderId: string | null, kind: 'forged_callback' | 'conflicting_result' | 'unknown_order' | 'amount_mismatch', detail: Record<string, unknown>): Promise<void> {
  await db.insertInto('channel.anomaly').values({ id: newId(), bank, order_id: orderId, kind, detail: JSON.stringify(detail) }).execute();
}
