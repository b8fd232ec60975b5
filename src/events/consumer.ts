/**
 * Consumers: a named follower of some topics whose effect lives in one subsystem's database.
 * Each event is applied at most once per consumer: the processed-event record and the effect are
 * written in one transaction, so a redelivered event finds its record and changes nothing.
 */
import assert from 'node:assert/strict';
import { sql, type Transaction } from 'kysely';
import type { Databases, Subsystem } from '../platform/index.js';
import type { BusEvent } from './event.js';

/** A consumer of events. `subsystem`'s schema must hold the standard processed_event table. */
// `L` is what load() reads for the handler; the handler's table map is its own subsystem's,
// which the events module cannot name (hence the `any`s).
export interface ConsumerSpec<L = any> {
  /** Stable and unique: progress, processed records and dead letters are kept under it. */
  readonly name: string;
  /** Topic patterns: `*`, `trade.*`, or exact types. Other events are skipped (and acknowledged). */
  readonly topics: readonly string[];
  readonly subsystem: Subsystem;
  /**
   * Where a consumer seen for the first time starts: at the oldest event still on the bus
   * (default: followers such as accounting want everything), or at the newest (a consumer added
   * to a running system that must not act on the past, e.g. a new kind of notification).
   */
  readonly startAt?: 'oldest' | 'newest';
  /**
   * Reads what the handler needs from other subsystems before the transaction opens, so a
   * handler never holds one pooled connection while waiting for another. Runs on redeliveries too.
   */
  load?(event: BusEvent): Promise<L>;
  /**
   * Applies the event inside `trx`, a transaction on `subsystem`'s database. Throwing rolls the
   * effect back and the event is retried with backoff, then dead-lettered. No network calls here.
   */
  handle(event: BusEvent, trx: Transaction<any>, loaded: L): Promise<void>;
}

export const consumerNamePattern = /^[a-z][a-z0-9_-]{0,60}$/;

/** Runs a consumer's handler exactly once per event id (per consumer). */
export class ConsumerExecutor {
  constructor(
    private readonly databases: Databases,
    /** This process's worker id, kept with each processed record. */
    private readonly owner: string,
  ) {}

  /** True when the handler ran; false when the event had already been applied. */
  async run(spec: ConsumerSpec, event: BusEvent): Promise<boolean> {
    assert.match(spec.name, consumerNamePattern);
    const table = sql.table(`${spec.subsystem}.processed_event`);
    const loaded = spec.load ? await spec.load(event) : undefined;
    return this.databases
      .get<unknown>(spec.subsystem)
      .transaction()
      .execute(async (trx) => {
        // A concurrent holder of the same event blocks here until it commits, then we see its row.
        const claimed = await sql<{ event_id: string }>`insert into ${table} (consumer, event_id, handled_by)
          values (${spec.name}, ${event.id}, ${this.owner}) on conflict do nothing returning event_id`.execute(trx);
        if (claimed.rows.length === 0) return false;
        await spec.handle(event, trx, loaded);
        return true;
      });
  }
}

/** What to do after a consumer failed on an event for the `failures`-th time in a row. */
export function afterFailure(backoffMs: readonly number[], failures: number): { park: true } | { park: false; retryInMs: number } {
  assert.ok(failures >= 1);
  if (failures > backoffMs.length) return { park: true };
  return { park: false, retryInMs: backoffMs[failures - 1]! };
}

export function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 2_000);
}
