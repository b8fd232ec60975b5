/**
 * The relay: moves outbox rows to the bus, oldest first, and deletes them once the bus has them.
 * One relay per outbox at a time (a lease in events.relay_lease), because two relays taking
 * alternate batches of one outbox could publish a key's events out of order. No transaction is
 * open while publishing; a crash between publish and delete publishes the rows again, and the
 * bus drops or the consumers ignore the repeats (at-least-once, deduplicated by event id).
 */
import { sql, type Kysely } from 'kysely';
import { subsystems, type Config, type Databases, type Logger, type PlatformContext, type Subsystem } from '../platform/index.js';
import type { Bus } from './bus.js';
import type { BusEvent, JsonValue } from './event.js';
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

  /** One bounded pass over every outbox; true when some outbox had a full batch (more waiting). */
  async step(): Promise<boolean> {
    let more = false;
    for (const schema of await this.outboxes()) {
      try {
        more = (await this.relayOne(schema)) || more;
      } catch (error) {
        this.deps.logger.error({ err: error, outbox: schema }, 'relay failed; will retry');
      }
    }
    return more;
  }

  private async relayOne(schema: Subsystem): Promise<boolean> {
    if (!(await this.holdLease(schema))) return false;
    const { databases, config, bus } = this.deps;
    const db = databases.get<unknown>(schema);
    const table = sql.table(`${schema}.outbox`);
    const rows = await sql<OutboxRow>`select seq, id, type, key, payload, context, broadcast, occurred_at
      from ${table} order by seq limit ${config.eventsRelayBatchMax}`.execute(db);
    if (rows.rows.length === 0) return false;
    await bus.publish(rows.rows.map((row) => toBusEvent(schema, row)));
    const seqs = rows.rows.map((row) => row.seq.toString());
    await sql`delete from ${table} where seq = any(${seqs}::bigint[])`.execute(db);
    return rows.rows.length === config.eventsRelayBatchMax;
  }

  /** Takes or extends this process's lease on an outbox; false while another process holds it. */
  private async holdLease(schema: Subsystem): Promise<boolean> {
    const { owner, config } = this.deps;
    const result = await sql<{ owner: string }>`insert into events.relay_lease (outbox, owner, lease_until)
      values (${schema}, ${owner}, now() + ${config.eventsLeaseMs} * interval '1 millisecond')
      on conflict (outbox) do update set owner = excluded.owner, lease_until = excluded.lease_until
        where events.relay_lease.owner = excluded.owner or events.relay_lease.lease_until < now()
      returning owner`.execute(this.events);
    return result.rows.length === 1;
  }

  /** Gives up this process's leases (a clean stop), so another relay takes over at once. */
  async releaseLeases(): Promise<void> {
    await sql`delete from events.relay_lease where owner = ${this.deps.owner}`.execute(this.events);
  }
}

function toBusEvent(source: string, row: OutboxRow): BusEvent {
  return {
    id: row.id,
    type: row.type,
    key: row.key,
    payload: row.payload,
    context: row.context as unknown as PlatformContext,
    source,
    broadcast: row.broadcast,
    occurredAt: row.occurred_at.toISOString(),
  };
}
