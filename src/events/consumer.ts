/**
 * Consumers: a named follower of some topics whose effect lives in one subsystem's database.
 * Each event is applied at most once per consumer: the processed-event record and the effect are
 * written in one transaction, so a redelivered event finds its record and changes nothing. A bus
 * hands a consumer a batch of one key bucket's events at a time; the batch is applied in one
 * transaction with one processed-event insert for all of it.
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
   * handler never holds one pooled connection while waiting for another: one value per event,
   * in order (read a batch in one query where it can). Runs on redeliveries too.
   */
  load?(events: readonly BusEvent[]): Promise<readonly L[]>;
  /**
   * True when the event needs no effect at all, decided from the event and what load() read
   * (e.g. no notify URL): it is acknowledged with no transaction and no processed record.
   */
  skips?(event: BusEvent, loaded: L): boolean;
  /**
   * Applies the event inside `trx`, a transaction on `subsystem`'s database. Throwing rolls the
   * effect back (with the rest of its batch) and the event is retried with backoff, then
   * dead-lettered. No network calls here.
   */
  handle(event: BusEvent, trx: Transaction<any>, loaded: L): Promise<void>;
  /**
   * Optional: applies several claimed events at once, with the effect of handle() on each in
   * order (e.g. one multi-row statement for all). Used for batches of two or more.
   */
  handleMany?(items: ReadonlyArray<ConsumerItem<L>>, trx: Transaction<any>): Promise<void>;
}

/** An event with what load() read for it. */
export interface ConsumerItem<L = any> {
  readonly event: BusEvent;
  readonly loaded: L;
}

export const consumerNamePattern = /^[a-z][a-z0-9_-]{0,60}$/;
/** The most events one transaction applies (a bus hands at most its batch size). */
export const consumerBatchMax = 10_000;

/** Runs a consumer's handler exactly once per event id (per consumer). */
export class ConsumerExecutor {
  constructor(
    private readonly databases: Databases,
    /** This process's worker id, kept with each processed record. */
    private readonly owner: string,
  ) {}

  /** True when the handler ran; false when the event had already been applied or needs nothing. */
  async run(spec: ConsumerSpec, event: BusEvent): Promise<boolean> {
    return (await this.runBatch(spec, [event])) === 1;
  }

  /**
   * Applies `events` (one key bucket's, in order) in one transaction: one multi-row insert claims
   * their processed records, and the handler runs, in order, for the events it claimed. Returns
   * how many handlers ran. If any handler throws, nothing of the batch is applied and the error
   * propagates: the caller then runs the events one at a time, so the failing one is retried or
   * dead-lettered alone.
   */
  async runBatch(spec: ConsumerSpec, events: readonly BusEvent[]): Promise<number> {
    assert.match(spec.name, consumerNamePattern);
    assert.ok(events.length <= consumerBatchMax, 'consumer batch too large');
    if (events.length === 0) return 0;
    const loaded = spec.load ? await spec.load(events) : events.map(() => undefined);
    assert.equal(loaded.length, events.length, `consumer ${spec.name}: load() must return one value per event`);
    const seen = new Set<string>();
    const work: ConsumerItem[] = [];
    events.forEach((event, i) => {
      const id = event.id.toLowerCase();
      if (seen.has(id) || spec.skips?.(event, loaded[i])) return;
      seen.add(id);
      work.push({ event, loaded: loaded[i] });
    });
    if (work.length === 0) return 0;
    const table = sql.table(`${spec.subsystem}.processed_event`);
    const ids = work.map((item) => item.event.id);
    return this.databases
      .get<unknown>(spec.subsystem)
      .transaction()
      .execute(async (trx) => {
        // A concurrent holder of one of these events blocks here until it commits, then we see its
        // row. Rows go in the batch's order, so two holders of one batch lock in the same order.
        const claimed = await sql<{ event_id: string }>`insert into ${table} (consumer, event_id, handled_by)
          select ${spec.name}, id, ${this.owner} from unnest(${ids}::uuid[]) with ordinality as e(id, n) order by n
          on conflict do nothing returning event_id`.execute(trx);
        const mine = new Set(claimed.rows.map((row) => row.event_id.toLowerCase()));
        const items = work.filter((item) => mine.has(item.event.id.toLowerCase()));
        if (items.length > 1 && spec.handleMany) await spec.handleMany(items, trx);
        else for (const item of items) await spec.handle(item.event, trx, item.loaded);
        return items.length;
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
