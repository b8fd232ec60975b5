/**
 * The relay: moves outbox rows to the bus, oldest first, and deletes them once the bus has them.
 * One relay per outbox at a time (a lease in events.relay_lease), because two relays taking
 * alternate batches of one outbox could publish a key's events out of order. No transaction is
 * open while publishing; a crash between publish and delete publishes the rows again, and the
 * bus drops or the consumers ignore the repeats (at-least-once, deduplicated by event id).
 * A lease is renewed every third of its length rather than at every pass, so a pass starts with
 * at least two thirds of the lease left.
 */
import { sql, type Kysely } from 'kysely';
import { subsystems, type Config, type Databases, type Logger, type Subsystem } from '../platform/index.js';
import type { Bus } from './bus.js';
import { rowToEvent, type JsonValue } from './event.js';
import type { EventsDB } from './events.table.js';

interface OutboxRow {
  seq: bigint;
  id: string;
  type: string;
  key: string;
  payload: JsonValue;
  context: JsonValue;
  broadcast: boolean;
  occurred_at: Date;
}

export interface RelayDeps {
  readonly databases: Databases;
  readonly config: Config;
  readonly logger: Logger;
  readonly bus: Bus;
  readonly owner: string;
}

/** How often the relay looks for outbox tables created since (by a later migration). */
const discoverEveryMs = 30_000;

export class Relay {
  private readonly registered = new Set<Subsystem>(['events']);
  private readonly found = new Set<Subsystem>();
  private discoveredAt = 0;
  /** When this process last took or extended its lease on each outbox (Date.now() before asking). */
  private readonly leasedAt = new Map<Subsystem, number>();
  private readonly events: Kysely<EventsDB>;

  constructor(private readonly deps: RelayDeps) {
    this.events = deps.databases.get<EventsDB>('events');
  }

  /** Relays `<schema>.outbox` (tables are also discovered in every subsystem's schema). */
  register(schema: Subsystem): void {
    this.registered.add(schema);
    this.discoveredAt = 0;
  }

  /** The outboxes the relay serves now. */
  async outboxes(): Promise<Subsystem[]> {
    if (Date.now() - this.discoveredAt > discoverEveryMs) {
      for (const schema of new Set<Subsystem>([...this.registered, ...subsystems])) {
        const found = await sql<{ t: string | null }>`select to_regclass(${`${schema}.outbox`})::text as t`.execute(this.deps.databases.get(schema));
        if (found.rows[0]?.t) this.found.add(schema);
      }
      this.discoveredAt = Date.now();
    }
    return [...this.found];
  }

  /**
   * One bounded pass over every outbox; true when some outbox had a full batch (more waiting).
   * Idle, it costs one statement per database: the outboxes there are read together, and the
   * leases are renewed only every third of their length.
   */
  async step(): Promise<boolean> {
    const leased = await this.holdLeases(await this.outboxes());
    const byDatabase = new Map<string, Subsystem[]>();
    for (const schema of leased) {
      const url = this.deps.databases.url(schema);
      byDatabase.set(url, [...(byDatabase.get(url) ?? []), schema]);
    }
    let more = false;
    for (const schemas of byDatabase.values()) {
      try {
        more = (await this.relayDatabase(schemas)) || more;
      } catch (error) {
        this.deps.logger.error({ err: error, outboxes: schemas }, 'relay failed; will retry');
      }
    }
    return more;
  }

  /** Reads the oldest rows of every outbox in one database in one statement, then publishes each outbox's in order. */
  private async relayDatabase(schemas: readonly Subsystem[]): Promise<boolean> {
    const { databases, config, bus } = this.deps;
    const db = databases.get<unknown>(schemas[0]!);
    const selects = schemas.map(
      (schema) => sql`(select ${schema}::text as outbox, seq, id, type, key, payload, context, broadcast, occurred_at
        from ${sql.table(`${schema}.outbox`)} order by seq limit ${config.eventsRelayBatchMax})`,
    );
    const rows = await sql<OutboxRow & { outbox: Subsystem }>`${sql.join(selects, sql` union all `)}`.execute(db);
    let more = false;
    for (const schema of schemas) {
      const batch = rows.rows.filter((row) => row.outbox === schema).sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
      if (batch.length === 0) continue;
      try {
        await bus.publish(batch.map((row) => rowToEvent({ ...row, source: schema })));
        const seqs = batch.map((row) => row.seq.toString());
        await sql`delete from ${sql.table(`${schema}.outbox`)} where seq = any(${seqs}::bigint[])`.execute(db);
        more = more || batch.length === config.eventsRelayBatchMax;
      } catch (error) {
        this.deps.logger.error({ err: error, outbox: schema }, 'relay failed; will retry');
      }
    }
    return more;
  }

  /**
   * Takes or extends this process's leases on the outboxes, in one statement, when some lease is
   * not held or a third of it has passed; returns the outboxes this process may relay now.
   */
  private async holdLeases(schemas: readonly Subsystem[]): Promise<Subsystem[]> {
    const { owner, config } = this.deps;
    const now = Date.now();
    const due = schemas.filter((schema) => now - (this.leasedAt.get(schema) ?? -Infinity) > config.eventsLeaseMs / 3);
    if (due.length > 0) {
      const result = await sql<{ outbox: Subsystem }>`insert into events.relay_lease (outbox, owner, lease_until)
        select o, ${owner}, now() + ${config.eventsLeaseMs} * interval '1 millisecond' from unnest(${due}::text[]) as o
        on conflict (outbox) do update set owner = excluded.owner, lease_until = excluded.lease_until
          where events.relay_lease.owner = excluded.owner or events.relay_lease.lease_until < now()
        returning outbox`.execute(this.events);
      const got = new Set(result.rows.map((row) => row.outbox));
      for (const schema of due) {
        if (got.has(schema)) this.leasedAt.set(schema, now);
        else this.leasedAt.delete(schema);
      }
    }
    return schemas.filter((schema) => this.leasedAt.has(schema));
  }

  /** Gives up this process's leases (a clean stop), so another relay takes over at once. */
  async releaseLeases(): Promise<void> {
    this.leasedAt.clear();
    await sql`delete from events.relay_lease where owner = ${this.deps.owner}`.execute(this.events);
  }
}

