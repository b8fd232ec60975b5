/**
 * The database as the bus (the default: no extra server). Published events go to events.message
 * under one advisory lock, so seq order is commit order. Each consumer keeps a cursor per key
 * bucket; a process leases a few buckets for one bounded batch each, so processes share the
 * buckets and a key's events are handled one after another. An idle consumer polls less and less
 * often; every publish NOTIFYs, which wakes the idle consumers of every process. Broadcasts also
 * travel by LISTEN/NOTIFY.
 */
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { backoffWorker, pgTypes, type Config, type Databases, type Logger, type PollOutcome, type WakeableWorker, type Worker } from '../platform/index.js';
import type { Bus } from './bus.js';
import { afterFailure, errorText, type ConsumerExecutor, type ConsumerSpec } from './consumer.js';
import type { DeadLetterRepository } from './dead-letter.repository.js';
import { bucketOf, matchesTopic, rowToEvent, type BusEvent } from './event.js';
import type { EventsDB, MessageRow } from './events.table.js';

/** Serialises writers of events.message (an arbitrary constant, unique within Paycore). */
const publishLockKey = 7_236_170_001n;
export const broadcastChannel = 'paycore_broadcast';
/** Notified by every publish: consumers waiting out an idle backoff look again. */
export const publishedChannel = 'paycore_published';
/** Buckets one process works on at once, per consumer: at most half, so a second process finds work. */
const bucketSlotsMax = 8;
/** An idle consumer polls at most this many intervals apart (a publish's NOTIFY wakes it sooner). */
const idleBackoffMax = 5;

export interface DbBusDeps {
  readonly databases: Databases;
  readonly config: Config;
  readonly logger: Logger;
  readonly executor: ConsumerExecutor;
  readonly deadLetters: DeadLetterRepository;
  readonly owner: string;
}

/** A leased bucket, its batch of messages, and how far this step got with it. */
interface BucketBatch {
  readonly bucket: number;
  readonly rows: MessageRow[];
  cursor: bigint;
  failures: number;
  renewAt: number;
  /** Set when the bucket goes back with a retry due. */
  retry?: { readonly inMs: number; readonly error: string };
  /** Set when something unexpected failed: the bucket keeps its lease until it expires. */
  abandoned?: boolean;
}

interface ClaimedRow extends Omit<MessageRow, 'seq'> {
  readonly claimed_bucket: number;
  readonly claimed_cursor: bigint;
  readonly claimed_failures: number;
  /** Null for a claimed bucket whose messages went meanwhile (the left join). */
  readonly seq: bigint | null;
}

export class DbBus implements Bus {
  readonly kind = 'db' as const;
  private readonly db: Kysely<EventsDB>;
  /** This process's running consumer loops, woken when this process publishes. */
  private readonly runners = new Set<WakeableWorker>();

  constructor(private readonly deps: DbBusDeps) {
    this.db = deps.databases.get<EventsDB>('events');
  }

  async publish(events: readonly BusEvent[]): Promise<void> {
    if (events.length === 0) return;
    const buckets = this.deps.config.eventsBuckets;
    await this.db.transaction().execute(async (trx) => {
      // Held to commit: nobody takes a seq until the previous writer's rows are visible. The
      // notification (delivered at commit) wakes idle consumers in every process.
      await sql`select pg_advisory_xact_lock(${publishLockKey.toString()}::bigint), pg_notify(${publishedChannel}, '')`.execute(trx);
      const inserted = await trx
        .insertInto('events.message')
        .values(
          events.map((event) => ({
            id: event.id,
            type: event.type,
            key: event.key,
            bucket: bucketOf(event.key, buckets),
            payload: sql`${JSON.stringify(event.payload)}::jsonb`,
            context: sql`${JSON.stringify(event.context)}::jsonb`,
            source: event.source,
            broadcast: event.broadcast,
            occurred_at: new Date(event.occurredAt),
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .returning(['id', 'broadcast'])
        .execute();
      for (const row of inserted) if (row.broadcast) await sql`select pg_notify(${broadcastChannel}, ${row.id})`.execute(trx);
    });
    // This process's consumers need not wait for the notification to come back.
    this.wakeConsumers();
  }

  /** Ends the idle backoff of this process's consumers. */
  private wakeConsumers(): void {
    for (const runner of this.runners) runner.wake();
  }

  consumerWorker(spec: ConsumerSpec): Worker {
    const runner = new DbConsumerRunner(spec, this.deps, this.db);
    const intervalMs = this.deps.config.eventsConsumerIntervalMs;
    const inner = backoffWorker(`events:${spec.name}`, { intervalMs, idleMaxMs: intervalMs * idleBackoffMax }, this.deps.logger, () => runner.step());
    return {
      name: inner.name,
      start: () => {
        runner.stopping = false;
        this.runners.add(inner);
        inner.start();
      },
      stop: async () => {
        runner.stopping = true;
        this.runners.delete(inner);
        await inner.stop();
      },
    };
  }

  broadcastWorker(dispatch: (event: BusEvent) => void): Worker {
    return new BroadcastListener(this.deps, this.db, dispatch, () => this.wakeConsumers());
  }

  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {}
}

/**
 * One consumer's loop on this process. A step leases a few buckets with pending messages (one
 * statement, which also reads their batches), applies the followed events of all of them in one
 * transaction, and gives the buckets back (one statement). If that transaction fails, each
 * bucket's events are applied one at a time, so only the failing event is retried.
 */
class DbConsumerRunner {
  stopping = false;
  private bucketsReady = false;
  private readonly log: Logger;

  constructor(
    private readonly spec: ConsumerSpec,
    private readonly deps: DbBusDeps,
    private readonly db: Kysely<EventsDB>,
  ) {
    this.log = deps.logger.child({ consumer: spec.name });
  }

  async step(): Promise<PollOutcome> {
    if (!this.bucketsReady) await this.ensureBuckets();
    const batches = await this.claim();
    if (batches.length === 0) return 'none';
    await this.runBatches(batches);
    await this.release(batches.filter((batch) => !batch.abandoned));
    const full = batches.some((batch) => batch.rows.length === this.deps.config.eventsConsumerBatchMax);
    return full && !this.stopping ? 'more' : 'some';
  }

  private async ensureBuckets(): Promise<void> {
    // Only the first time a consumer is seen; later starts keep its cursors.
    const newest = this.spec.startAt === 'newest';
    await sql`insert into events.consumer_bucket (consumer, bucket, cursor)
      select ${this.spec.name}, b, case when ${newest} then coalesce((select max(seq) from events.message m where m.bucket = b), 0) else 0 end
        from generate_series(0, ${this.deps.config.eventsBuckets - 1}) as b
      on conflict do nothing`.execute(this.db);
    this.bucketsReady = true;
  }

  /** Leases buckets with pending messages and reads a batch of each, in seq order. */
  private async claim(): Promise<BucketBatch[]> {
    const { owner, config } = this.deps;
    const slots = Math.max(1, Math.min(bucketSlotsMax, Math.floor(config.eventsBuckets / 2)));
    const result = await sql<ClaimedRow>`
      with claimed as (
        update events.consumer_bucket cb
           set lease_owner = ${owner}, lease_until = now() + ${config.eventsLeaseMs} * interval '1 millisecond'
         where cb.consumer = ${this.spec.name} and cb.bucket in (
           select b.bucket from events.consumer_bucket b
            where b.consumer = ${this.spec.name}
              and (b.lease_until is null or b.lease_until < now())
              and (b.retry_at is null or b.retry_at <= now())
              and exists (select 1 from events.message m where m.bucket = b.bucket and m.seq > b.cursor)
            order by random() limit ${slots}
            for update of b skip locked)
        returning cb.bucket, cb.cursor, cb.failures)
      select c.bucket as claimed_bucket, c.cursor as claimed_cursor, c.failures as claimed_failures, m.*
        from claimed c left join lateral (
          select * from events.message m where m.bucket = c.bucket and m.seq > c.cursor order by m.seq limit ${config.eventsConsumerBatchMax}) m on true
       order by c.bucket, m.seq`.execute(this.db);
    const batches = new Map<number, BucketBatch>();
    const renewAt = Date.now() + config.eventsLeaseMs / 2;
    for (const row of result.rows) {
      let batch = batches.get(row.claimed_bucket);
      if (!batch) {
        batch = { bucket: row.claimed_bucket, rows: [], cursor: row.claimed_cursor, failures: row.claimed_failures, renewAt };
        batches.set(batch.bucket, batch);
      }
      if (row.seq === null) continue;
      const { claimed_bucket: _b, claimed_cursor: _c, claimed_failures: _f, ...message } = row;
      batch.rows.push({ ...message, seq: row.seq });
    }
    return [...batches.values()];
  }

  /** Applies the claimed batches: together in one transaction, else bucket by bucket, one event at a time. */
  private async runBatches(batches: BucketBatch[]): Promise<void> {
    // A retry runs its event alone, so only that event's own attempts count towards dead-lettering.
    const pending: Array<{ batch: BucketBatch; from: number }> = [];
    for (const batch of batches) {
      if (batch.failures > 0 && batch.rows.length > 0) {
        if (!(await this.guarded(batch, () => this.runOne(batch, batch.rows[0]!)))) continue;
        pending.push({ batch, from: 1 });
      } else {
        pending.push({ batch, from: 0 });
      }
    }
    const followed = pending.flatMap(({ batch, from }) => batch.rows.slice(from).filter((row) => matchesTopic(this.spec.topics, row.type)));
    if (this.stopping) return;
    if (followed.length > 1 && (await this.runTogether(followed))) {
      for (const { batch } of pending) if (batch.rows.length > 0) batch.cursor = batch.rows[batch.rows.length - 1]!.seq;
      return;
    }
    // One event, or a transaction that rolled back as a whole because a handler threw: one at a
    // time, so the others take effect and the failing one is retried or dead-lettered alone.
    await Promise.all(
      pending.map(({ batch, from }) =>
        this.guarded(batch, async () => {
          for (const row of batch.rows.slice(from)) {
            if (this.stopping || !(await this.runOne(batch, row))) return false;
          }
          return true;
        }),
      ),
    );
  }

  /** Applies followed events in one transaction; false when a handler (or the database) failed. */
  private async runTogether(rows: readonly MessageRow[]): Promise<boolean> {
    try {
      await this.deps.executor.runBatch(this.spec, rows.map(rowToEvent));
      return true;
    } catch (error) {
      this.log.debug({ err: error, events: rows.length }, 'consumer batch failed; applying its events one at a time');
      return false;
    }
  }

  /** Runs `work` on one bucket; an unexpected error leaves the bucket leased (it is retried after the lease). */
  private async guarded(batch: BucketBatch, work: () => Promise<boolean>): Promise<boolean> {
    try {
      return await work();
    } catch (error) {
      this.log.error({ err: error, bucket: batch.bucket }, 'consumer bucket failed; retried after its lease');
      batch.abandoned = true;
      return false;
    }
  }

  /** Applies one event (if followed); false when the bucket must stop here (a retry is due, or the lease was lost). */
  private async runOne(batch: BucketBatch, row: MessageRow): Promise<boolean> {
    const { config, executor, deadLetters } = this.deps;
    if (matchesTopic(this.spec.topics, row.type)) {
      const event = rowToEvent(row);
      try {
        await executor.run(this.spec, event);
      } catch (error) {
        const failures = batch.failures + 1;
        const next = afterFailure(config.eventsRetryBackoffMs, failures);
        this.log.warn({ err: error, eventId: event.id, type: event.type, failures }, next.park ? 'consumer failed; event dead-lettered' : 'consumer failed; will retry');
        if (!next.park) {
          batch.failures = failures;
          batch.retry = { inMs: next.retryInMs, error: errorText(error) };
          return false;
        }
        await deadLetters.park(this.spec.name, event, errorText(error), failures);
      }
    }
    batch.cursor = row.seq;
    batch.failures = 0;
    if (Date.now() <= batch.renewAt) return true;
    if (!(await this.renew(batch.bucket, batch.cursor))) {
      batch.abandoned = true; // another process has it now
      return false;
    }
    batch.renewAt = Date.now() + config.eventsLeaseMs / 2;
    return true;
  }

  /** Saves progress and extends the lease; false if another process has taken the bucket. */
  private async renew(bucket: number, cursor: bigint): Promise<boolean> {
    const result = await sql`update events.consumer_bucket
         set cursor = greatest(cursor, ${cursor.toString()}::bigint), failures = 0, retry_at = null, last_error = null,
             lease_until = now() + ${this.deps.config.eventsLeaseMs} * interval '1 millisecond'
       where consumer = ${this.spec.name} and bucket = ${bucket} and lease_owner = ${this.deps.owner}`.execute(this.db);
    return Number(result.numAffectedRows ?? 0) === 1;
  }

  /** Saves each bucket's progress and gives them back, in one statement (compare-and-set on the lease owner). */
  private async release(batches: readonly BucketBatch[]): Promise<void> {
    if (batches.length === 0) return;
    const buckets = batches.map((batch) => batch.bucket);
    const cursors = batches.map((batch) => batch.cursor.toString());
    const failures = batches.map((batch) => (batch.retry ? batch.failures : 0));
    const retryMs = batches.map((batch) => batch.retry?.inMs ?? null);
    const errors = batches.map((batch) => batch.retry?.error ?? null);
    await sql`update events.consumer_bucket cb
         set cursor = greatest(cb.cursor, v.cursor), failures = v.failures,
             retry_at = case when v.retry_ms is null then null else now() + v.retry_ms * interval '1 millisecond' end,
             last_error = v.error, lease_owner = null, lease_until = null
        from unnest(${buckets}::int[], ${cursors}::bigint[], ${failures}::int[], ${retryMs}::int[], ${errors}::text[]) as v(bucket, cursor, failures, retry_ms, error)
       where cb.consumer = ${this.spec.name} and cb.bucket = v.bucket and cb.lease_owner = ${this.deps.owner}`.execute(this.db);
  }
}

/** LISTEN (broadcasts, and publishes to wake consumers) on a dedicated connection; reconnects after a drop. */
class BroadcastListener implements Worker {
  readonly name = 'events:broadcast';
  private client: pg.Client | undefined;
  private stopped = true;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: DbBusDeps,
    private readonly db: Kysely<EventsDB>,
    private readonly dispatch: (event: BusEvent) => void,
    private readonly onPublished: () => void,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.deps.databases.url('events'), types: pgTypes, application_name: 'paycore-broadcast' });
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    client.on('notification', (note) => (note.channel === publishedChannel ? this.onPublished() : void this.deliver(note.payload)));
    try {
      await client.connect();
      await client.query(`listen ${broadcastChannel}; listen ${publishedChannel}`);
      this.client = client;
      if (this.stopped) await client.end().catch(() => undefined);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'broadcast listener could not connect; retrying');
      this.reconnect(client);
    }
  }

  private reconnect(client: pg.Client): void {
    if (this.stopped || this.retry) return;
    if (this.client === client) this.client = undefined;
    void client.end().catch(() => undefined);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, 1_000);
  }

  private async deliver(id: string | undefined): Promise<void> {
    if (!id) return;
    try {
      const row = await this.db.selectFrom('events.message').selectAll().where('id', '=', id).executeTakeFirst();
      if (row) this.dispatch(rowToEvent(row));
    } catch (error) {
      this.deps.logger.warn({ err: error, eventId: id }, 'broadcast could not be read');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
