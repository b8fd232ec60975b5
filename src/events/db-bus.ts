/**
 * The database as the bus (the default: no extra server). Published events go to events.message
 * under one advisory lock, so seq order is commit order. Each consumer keeps a cursor per key
 * bucket; a process leases a bucket for one bounded batch, so processes share the buckets and a
 * key's events are handled one after another. Broadcasts travel by LISTEN/NOTIFY.
 */
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { intervalWorker, pgTypes, type Config, type Databases, type Logger, type PlatformContext, type Worker } from '../platform/index.js';
import type { Bus } from './bus.js';
import { afterFailure, errorText, type ConsumerExecutor, type ConsumerSpec } from './consumer.js';
import type { DeadLetterRepository } from './dead-letter.repository.js';
import { bucketOf, matchesTopic, type BusEvent } from './event.js';
import type { EventsDB, MessageRow } from './events.table.js';

/** Serialises writers of events.message (an arbitrary constant, unique within Paycore). */
const publishLockKey = 7_236_170_001n;
export const broadcastChannel = 'paycore_broadcast';
/** Buckets one process works on at once, per consumer: at most half, so a second process finds work. */
const bucketSlotsMax = 4;

export interface DbBusDeps {
  readonly databases: Databases;
  readonly config: Config;
  readonly logger: Logger;
  readonly executor: ConsumerExecutor;
  readonly deadLetters: DeadLetterRepository;
  readonly owner: string;
}

export function messageToEvent(row: MessageRow): BusEvent {
  return {
    id: row.id,
    type: row.type,
    key: row.key,
    payload: row.payload,
    context: row.context as unknown as PlatformContext,
    source: row.source,
    broadcast: row.broadcast,
    occurredAt: row.occurred_at.toISOString(),
  };
}

interface BucketClaim {
  readonly bucket: number;
  readonly cursor: bigint;
  readonly failures: number;
}

export class DbBus implements Bus {
  readonly kind = 'db' as const;
  private readonly db: Kysely<EventsDB>;

  constructor(private readonly deps: DbBusDeps) {
    this.db = deps.databases.get<EventsDB>('events');
  }

  async publish(events: readonly BusEvent[]): Promise<void> {
    if (events.length === 0) return;
    const buckets = this.deps.config.eventsBuckets;
    await this.db.transaction().execute(async (trx) => {
      // Held to commit: nobody takes a seq until the previous writer's rows are visible.
      await sql`select pg_advisory_xact_lock(${publishLockKey.toString()}::bigint)`.execute(trx);
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
  }

  consumerWorker(spec: ConsumerSpec): Worker {
    const runner = new DbConsumerRunner(spec, this.deps, this.db);
    const inner = intervalWorker(`events:${spec.name}`, this.deps.config.eventsConsumerIntervalMs, this.deps.logger, () => runner.step());
    return {
      name: inner.name,
      start: () => inner.start(),
      stop: async () => {
        runner.stopping = true;
        await inner.stop();
      },
    };
  }

  broadcastWorker(dispatch: (event: BusEvent) => void): Worker {
    return new BroadcastListener(this.deps, this.db, dispatch);
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

/** One consumer's loop on this process. */
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

  /** Leases a few buckets with pending messages and works through one batch of each. */
  async step(): Promise<boolean> {
    if (!this.bucketsReady) await this.ensureBuckets();
    const claims = await this.claim();
    const full = await Promise.all(claims.map((claim) => this.runBucket(claim)));
    return full.some(Boolean);
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

  private async claim(): Promise<BucketClaim[]> {
    const { owner, config } = this.deps;
    const result = await sql<{ bucket: number; cursor: bigint; failures: number }>`
      update events.consumer_bucket cb
         set lease_owner = ${owner}, lease_until = now() + ${config.eventsLeaseMs} * interval '1 millisecond'
       where cb.consumer = ${this.spec.name} and cb.bucket in (
         select b.bucket from events.consumer_bucket b
          where b.consumer = ${this.spec.name}
            and (b.lease_until is null or b.lease_until < now())
            and (b.retry_at is null or b.retry_at <= now())
            and exists (select 1 from events.message m where m.bucket = b.bucket and m.seq > b.cursor)
          order by random() limit ${Math.max(1, Math.min(bucketSlotsMax, Math.floor(config.eventsBuckets / 2)))}
          for update of b skip locked)
      returning cb.bucket, cb.cursor, cb.failures`.execute(this.db);
    return result.rows;
  }

  /** Handles one batch of a leased bucket in seq order; true when the batch was full. */
  private async runBucket(claim: BucketClaim): Promise<boolean> {
    const { config, executor, deadLetters } = this.deps;
    const rows = await this.db
      .selectFrom('events.message')
      .selectAll()
      .where('bucket', '=', claim.bucket)
      .where('seq', '>', claim.cursor)
      .orderBy('seq')
      .limit(config.eventsConsumerBatchMax)
      .execute();
    let cursor = claim.cursor;
    let failures = claim.failures;
    let renewAt = Date.now() + config.eventsLeaseMs / 2;
    for (const row of rows) {
      if (this.stopping) break;
      if (matchesTopic(this.spec.topics, row.type)) {
        const event = messageToEvent(row);
        try {
          await executor.run(this.spec, event);
        } catch (error) {
          failures += 1;
          const next = afterFailure(config.eventsRetryBackoffMs, failures);
          this.log.warn({ err: error, eventId: event.id, type: event.type, failures }, next.park ? 'consumer failed; event dead-lettered' : 'consumer failed; will retry');
          if (!next.park) {
            await this.release(claim.bucket, cursor, { failures, retryInMs: next.retryInMs, error: errorText(error) });
            return false;
          }
          await deadLetters.park(this.spec.name, event, errorText(error), failures);
        }
      }
      cursor = row.seq;
      failures = 0;
      if (Date.now() > renewAt) {
        if (!(await this.renew(claim.bucket, cursor))) return false;
        renewAt = Date.now() + config.eventsLeaseMs / 2;
      }
    }
    await this.release(claim.bucket, cursor, { failures: 0 });
    return rows.length === config.eventsConsumerBatchMax && !this.stopping;
  }

  /** Saves progress and extends the lease; false if another process has taken the bucket. */
  private async renew(bucket: number, cursor: bigint): Promise<boolean> {
    const result = await sql`update events.consumer_bucket
         set cursor = greatest(cursor, ${cursor.toString()}::bigint), failures = 0, retry_at = null, last_error = null,
             lease_until = now() + ${this.deps.config.eventsLeaseMs} * interval '1 millisecond'
       where consumer = ${this.spec.name} and bucket = ${bucket} and lease_owner = ${this.deps.owner}`.execute(this.db);
    return Number(result.numAffectedRows ?? 0) === 1;
  }

  /** Saves progress and gives the bucket back (compare-and-set on the lease owner). */
  private async release(bucket: number, cursor: bigint, state: { failures: number; retryInMs?: number; error?: string }): Promise<void> {
    const retryAt = state.retryInMs === undefined ? sql`null` : sql`now() + ${state.retryInMs} * interval '1 millisecond'`;
    await sql`update events.consumer_bucket
         set cursor = greatest(cursor, ${cursor.toString()}::bigint), failures = ${state.failures}, retry_at = ${retryAt},
             last_error = ${state.error ?? null}, lease_owner = null, lease_until = null
       where consumer = ${this.spec.name} and bucket = ${bucket} and lease_owner = ${this.deps.owner}`.execute(this.db);
  }
}

/** LISTEN on a dedicated connection; reconnects after a drop. */
class BroadcastListener implements Worker {
  readonly name = 'events:broadcast';
  private client: pg.Client | undefined;
  private stopped = true;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: DbBusDeps,
    private readonly db: Kysely<EventsDB>,
    private readonly dispatch: (event: BusEvent) => void,
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
    client.on('notification', (note) => void this.deliver(note.payload));
    try {
      await client.connect();
      await client.query(`listen ${broadcastChannel}`);
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
      if (row) this.dispatch(messageToEvent(row));
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
