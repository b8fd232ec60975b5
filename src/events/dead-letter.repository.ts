/** The dead-letter list: events a consumer gave up on, kept for an operator to replay. */
import { sql, type Kysely } from 'kysely';
import { newId, type PlatformContext } from '../platform/index.js';
import type { BusEvent, JsonValue } from './event.js';
import type { DeadLetterRow, EventsDB } from './events.table.js';

export interface DeadLetter {
  readonly id: string;
  readonly consumer: string;
  readonly event: BusEvent;
  readonly error: string;
  readonly attempts: number;
  readonly status: DeadLetterRow['status'];
  readonly createdAt: Date;
  readonly replayRequestedAt: Date | undefined;
  readonly replayedAt: Date | undefined;
}

export type ReplayRequest = { ok: true; deadLetter: DeadLetter } | { ok: false; reason: 'not_found' | 'not_parked' };

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    consumer: row.consumer,
    event: {
      id: row.event_id,
      type: row.type,
      key: row.key,
      payload: row.payload,
      context: row.context as unknown as PlatformContext,
      source: row.source,
      broadcast: false,
      occurredAt: row.occurred_at.toISOString(),
    },
    error: row.error,
    attempts: row.attempts,
    status: row.status,
    createdAt: row.created_at,
    replayRequestedAt: row.replay_requested_at ?? undefined,
    replayedAt: row.replayed_at ?? undefined,
  };
}

export class DeadLetterRepository {
  constructor(private readonly db: Kysely<EventsDB>) {}

  /** Parks an event; a second park of the same (consumer, event) keeps the first. */
  async park(consumer: string, event: BusEvent, error: string, attempts: number): Promise<void> {
    await this.db
      .insertInto('events.dead_letter')
      .values({
        id: newId(),
        consumer,
        event_id: event.id,
        type: event.type,
        key: event.key,
        payload: sql<JsonValue>`${JSON.stringify(event.payload)}::jsonb`,
        context: sql<JsonValue>`${JSON.stringify(event.context)}::jsonb`,
        source: event.source,
        occurred_at: new Date(event.occurredAt),
        error,
        attempts,
        status: 'parked',
        replay_requested_at: null,
        replayed_at: null,
        lease_until: null,
      })
      .onConflict((oc) => oc.columns(['consumer', 'event_id']).doNothing())
      .execute();
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const row = await this.db.selectFrom('events.dead_letter').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toDeadLetter(row) : undefined;
  }

  /** Newest first, cursor by id (UUIDv7 ids sort by time). */
  async list(filter: { status?: DeadLetterRow['status']; consumer?: string; limit: number; startingAfter?: string }): Promise<{ data: DeadLetter[]; hasMore: boolean }> {
    let query = this.db.selectFrom('events.dead_letter').selectAll().orderBy('id', 'desc').limit(filter.limit + 1);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.consumer) query = query.where('consumer', '=', filter.consumer);
    if (filter.startingAfter) query = query.where('id', '<', filter.startingAfter);
    const rows = await query.execute();
    return { data: rows.slice(0, filter.limit).map(toDeadLetter), hasMore: rows.length > filter.limit };
  }

  /** Marks a parked event for replay (compare-and-set on status); a replay worker runs it. */
  async requestReplay(id: string): Promise<ReplayRequest> {
    const row = await this.db
      .updateTable('events.dead_letter')
      .set({ status: 'replaying', replay_requested_at: sql<Date>`now()`, lease_until: null })
      .where('id', '=', id)
      .where('status', '=', 'parked')
      .returningAll()
      .executeTakeFirst();
    if (row) return { ok: true, deadLetter: toDeadLetter(row) };
    return (await this.get(id)) ? { ok: false, reason: 'not_parked' } : { ok: false, reason: 'not_found' };
  }

  /** Leases up to `limit` replays of the given consumers for `leaseMs`. */
  async claimReplays(consumers: readonly string[], limit: number, leaseMs: number): Promise<DeadLetter[]> {
    if (consumers.length === 0) return [];
    const rows = await this.db
      .updateTable('events.dead_letter')
      .set({ lease_until: sql<Date>`now() + ${leaseMs} * interval '1 millisecond'` })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('events.dead_letter')
          .select('id')
          .where('status', '=', 'replaying')
          .where('consumer', 'in', consumers)
          .where((w) => w.or([w('lease_until', 'is', null), w('lease_until', '<', sql<Date>`now()`)]))
          .orderBy('id')
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .execute();
    return rows.map(toDeadLetter);
  }

  /** Ends a replay: replayed, or parked again with the new error. */
  async finishReplay(id: string, outcome: { ok: true } | { ok: false; error: string }): Promise<void> {
    const update = outcome.ok
      ? { status: 'replayed' as const, replayed_at: sql<Date>`now()`, lease_until: null }
      : { status: 'parked' as const, error: outcome.error, attempts: sql<number>`attempts + 1`, lease_until: null };
    await this.db.updateTable('events.dead_letter').set(update).where('id', '=', id).where('status', '=', 'replaying').execute();
  }
}
