/**
 * The persisted notification queue. Claiming takes a lease (no transaction stays open during a
 * POST) and keeps each client under its concurrency limit across all processes: claims are
 * serialised by an advisory lock, and the in-flight count is read under it.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { newId } from '../platform/index.js';
import type { AttemptRow, DeliveryRow, NotifyDB } from './notify.table.js';

/** Serialises claimers (an arbitrary constant, unique within Paycore). */
const claimLockKey = 7_236_170_101n;
/** Due rows looked at per claim, before the per-client limit picks among them. */
const claimScanMax = 1_000;

export interface NewDelivery {
  readonly kind: string;
  readonly clientId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly url: string;
  readonly body: string;
}

export type TryOutcome = { readonly ok: true; readonly httpStatus: number } | { readonly ok: false; readonly httpStatus?: number; readonly error: string };

export type ResendResult = { ok: true; delivery: DeliveryRow } | { ok: false; reason: 'not_found' | 'in_flight' };

export interface DeliveryFilter {
  readonly status?: DeliveryRow['status'];
  readonly clientId?: string;
  readonly eventId?: string;
  readonly limit: number;
  readonly startingAfter?: string;
}

/** Queues a notification in the caller's transaction; the same (kind, event, url) is queued once. */
export async function enqueueDelivery(trx: Transaction<NotifyDB> | Kysely<NotifyDB>, input: NewDelivery): Promise<string | undefined> {
  const row = await trx
    .insertInto('notify.delivery')
    .values({
      id: newId(),
      kind: input.kind,
      client_id: input.clientId,
      event_id: input.eventId,
      event_type: input.eventType,
      url: input.url,
      body: input.body,
      status: 'pending',
      lease_until: null,
      last_http_status: null,
      last_error: null,
      delivered_at: null,
    })
    .onConflict((oc) => oc.columns(['kind', 'event_id', 'url']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

export class DeliveryRepository {
  constructor(private readonly db: Kysely<NotifyDB>) {}

  /**
   * Deletes up to `limit` finished deliveries (delivered, or failed for good) created before
   * `before`, with their attempts; true when there may be more. Pending ones are never touched.
   */
  async purgeFinished(before: Date, limit: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const victims = await trx
        .selectFrom('notify.delivery')
        .select('id')
        .where('status', '<>', 'pending')
        .where('created_at', '<', before)
        .orderBy('created_at')
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
      if (victims.length === 0) return false;
      const ids = victims.map((v) => v.id);
      await trx.deleteFrom('notify.attempt').where('delivery_id', 'in', ids).execute();
      await trx.deleteFrom('notify.delivery').where('id', 'in', ids).execute();
      return victims.length === limit;
    });
  }

  /** Leases up to `capacity` due deliveries of the given kinds, at most `perClient` in flight per client. */
  async claim(kinds: readonly string[], capacity: number, perClient: number, leaseMs: number): Promise<DeliveryRow[]> {
    if (capacity <= 0 || kinds.length === 0) return [];
    // Idle, one cheap probe (the delivery_due index) instead of a transaction with the lock.
    const due = await sql<{ due: boolean }>`select exists (select 1 from notify.delivery
        where status = 'pending' and next_attempt_at <= now() and (lease_until is null or lease_until <= now())
          and kind = any(${kinds as string[]}::text[])) as due`.execute(this.db);
    if (!due.rows[0]?.due) return [];
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${claimLockKey.toString()}::bigint)`.execute(trx);
      const result = await sql<DeliveryRow>`
        with inflight as (
          select client_id, count(*)::int as busy from notify.delivery
           where status = 'pending' and lease_until > now() group by client_id),
        due as (
          select id, client_id, next_attempt_at from notify.delivery
           where status = 'pending' and next_attempt_at <= now() and (lease_until is null or lease_until <= now())
             and kind = any(${kinds as string[]}::text[])
           order by next_attempt_at limit ${claimScanMax}),
        ranked as (
          select d.id, row_number() over (partition by d.client_id order by d.next_attempt_at, d.id) + coalesce(i.busy, 0) as slot
            from due d left join inflight i using (client_id))
        update notify.delivery set lease_until = now() + ${leaseMs} * interval '1 millisecond', attempts = attempts + 1
         where id in (select id from ranked where slot <= ${perClient} order by slot limit ${capacity})
        returning *`.execute(trx);
      return result.rows;
    });
  }

  /**
   * Records a try's outcome (compare-and-set on the attempt number, so a try cut off by a lost
   * lease cannot overwrite a newer one): delivered, rescheduled, or failed for good.
   */
  async finish(row: DeliveryRow, outcome: TryOutcome, scheduleMs: readonly number[], startedAt: Date): Promise<DeliveryRow['status']> {
    const done = outcome.ok ? 'delivered' : row.retry_index >= scheduleMs.length ? 'failed' : 'pending';
    const waitMs = done === 'pending' ? scheduleMs[row.retry_index]! : 0;
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('notify.delivery')
        .set({
          status: done,
          lease_until: null,
          last_http_status: outcome.httpStatus ?? null,
          last_error: outcome.ok ? null : outcome.error.slice(0, 500),
          delivered_at: done === 'delivered' ? sql<Date>`now()` : null,
          retry_index: done === 'pending' ? row.retry_index + 1 : row.retry_index,
          next_attempt_at: done === 'pending' ? sql<Date>`now() + ${waitMs} * interval '1 millisecond'` : sql<Date>`next_attempt_at`,
        })
        .where('id', '=', row.id)
        .where('attempts', '=', row.attempts)
        .where('status', '=', 'pending')
        .execute();
      await trx
        .insertInto('notify.attempt')
        .values({
          id: newId(),
          delivery_id: row.id,
          attempt: row.attempts,
          started_at: startedAt,
          duration_ms: Date.now() - startedAt.getTime(),
          http_status: outcome.httpStatus ?? null,
          error: outcome.ok ? null : outcome.error.slice(0, 500),
        })
        .execute();
    });
    return done;
  }

  async get(id: string): Promise<{ delivery: DeliveryRow; attempts: AttemptRow[] } | undefined> {
    const delivery = await this.db.selectFrom('notify.delivery').selectAll().where('id', '=', id).executeTakeFirst();
    if (!delivery) return undefined;
    const attempts = await this.db.selectFrom('notify.attempt').selectAll().where('delivery_id', '=', id).orderBy('attempt').execute();
    return { delivery, attempts };
  }

  /** Newest first; cursor by id (UUIDv7 sorts by time). */
  async list(filter: DeliveryFilter): Promise<{ data: DeliveryRow[]; hasMore: boolean }> {
    let query = this.db.selectFrom('notify.delivery').selectAll().orderBy('id', 'desc').limit(filter.limit + 1);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.clientId) query = query.where('client_id', '=', filter.clientId);
    if (filter.eventId) query = query.where('event_id', '=', filter.eventId);
    if (filter.startingAfter) query = query.where('id', '<', filter.startingAfter);
    const rows = await query.execute();
    return { data: rows.slice(0, filter.limit), hasMore: rows.length > filter.limit };
  }

  /** An operator's resend: due now, with the whole schedule again; refused while a try is under way. */
  async resend(id: string): Promise<ResendResult> {
    const row = await this.db
      .updateTable('notify.delivery')
      .set({ status: 'pending', retry_index: 0, next_attempt_at: sql<Date>`now()`, lease_until: null })
      .where('id', '=', id)
      .where((w) => w.or([w('status', '!=', 'pending'), w('lease_until', 'is', null), w('lease_until', '<=', sql<Date>`now()`)]))
      .returningAll()
      .executeTakeFirst();
    if (row) return { ok: true, delivery: row };
    const exists = await this.db.selectFrom('notify.delivery').select('id').where('id', '=', id).executeTakeFirst();
    return { ok: false, reason: exists ? 'in_flight' : 'not_found' };
  }
}
