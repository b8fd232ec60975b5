/**
 * The events subsystem assembled: the bus (database or NATS), the relay, the consumers registered
 * by other subsystems, dead-letter replays, retention and broadcasts. `worker` runs all of it.
 */
import os from 'node:os';
import { sql } from 'kysely';
import { backoffWorker, intervalWorker, randomToken, type Config, type Databases, type Logger, type Subsystem, type WakeableWorker, type Worker } from '../platform/index.js';
import { BroadcastHub, type BroadcastHandler } from './broadcast-hub.js';
import type { Bus } from './bus.js';
import { ConsumerExecutor, consumerNamePattern, errorText, type ConsumerSpec } from './consumer.js';
import { DbBus } from './db-bus.js';
import { DeadLetterRepository } from './dead-letter.repository.js';
import type { EventsDB } from './events.table.js';
import { NatsBus } from './nats-bus.js';
import { Relay } from './relay.worker.js';

export interface EventsDeps {
  readonly databases: Databases;
  readonly config: Config;
  readonly logger: Logger;
}

const replayBatchMax = 20;
/** An idle replayer polls at most this many intervals apart. */
const replayIdleBackoffMax = 5;
const purgeBatchMax = 1_000;
const purgeIntervalMs = 60_000;

export class Events {
  readonly deadLetters: DeadLetterRepository;
  readonly relay: Relay;
  /** This process's id in leases and processed records. */
  readonly owner: string;
  private readonly executor: ConsumerExecutor;
  private readonly consumers = new Map<string, ConsumerSpec>();
  private readonly hub: BroadcastHub;
  private running: Worker[] = [];
  /** Runs requested replays; idle, it polls at most every few seconds (a request here wakes it). */
  private readonly replayer: WakeableWorker;

  private constructor(
    private readonly deps: EventsDeps,
    readonly bus: Bus,
    parts: { owner: string; executor: ConsumerExecutor; deadLetters: DeadLetterRepository },
  ) {
    this.owner = parts.owner;
    this.executor = parts.executor;
    this.deadLetters = parts.deadLetters;
    this.hub = new BroadcastHub(deps.logger);
    this.relay = new Relay({ ...deps, bus, owner: this.owner });
    const replayIntervalMs = Math.max(deps.config.eventsConsumerIntervalMs, 250);
    this.replayer = backoffWorker('events:replay', { intervalMs: replayIntervalMs, idleMaxMs: replayIntervalMs * replayIdleBackoffMax }, deps.logger, async () => {
      const claimed = await this.replayStep();
      return claimed.full ? 'more' : claimed.any ? 'some' : 'none';
    });
  }

  /** Builds the subsystem; with `config.bus` set, connects to NATS first (and fails if it cannot). */
  static async create(deps: EventsDeps): Promise<Events> {
    const owner = `${os.hostname()}:${process.pid}:${randomToken('w', 4)}`;
    const executor = new ConsumerExecutor(deps.databases, owner);
    const deadLetters = new DeadLetterRepository(deps.databases.get<EventsDB>('events'));
    const logger = deps.logger.child({ subsystem: 'events' });
    const busDeps = { ...deps, logger, executor, deadLetters, owner };
    const bus: Bus = deps.config.bus ? await NatsBus.connect(deps.config.bus, busDeps) : new DbBus(busDeps);
    return new Events({ ...deps, logger }, bus, { owner, executor, deadLetters });
  }

  /** Relays `<schema>.outbox`; outbox tables are also found on their own, this only hurries it. */
  registerOutbox(schema: Subsystem): void {
    this.relay.register(schema);
  }

  /** Registers a consumer; it runs in every process that runs the workers. Call before start. */
  consume(spec: ConsumerSpec): void {
    if (!consumerNamePattern.test(spec.name)) throw new Error(`consumer name "${spec.name}" must match ${consumerNamePattern}`);
    if (this.consumers.has(spec.name)) throw new Error(`consumer "${spec.name}" registered twice`);
    this.consumers.set(spec.name, spec);
  }

  /** Hears broadcast events in this process; treat them as hints and reload state at start. */
  onBroadcast(patterns: readonly string[], handler: BroadcastHandler): () => void {
    return this.hub.on(patterns, handler);
  }

  ping(): Promise<boolean> {
    return this.bus.ping();
  }

  /** Runs the relay, every consumer, replays, retention and the broadcast listener. */
  readonly worker: Worker = {
    name: 'events',
    start: () => {
      if (this.running.length > 0) return;
      const { config, logger } = this.deps;
      this.running = [
        intervalWorker('events:relay', config.eventsRelayIntervalMs, logger, () => this.relay.step()),
        ...[...this.consumers.values()].map((spec) => this.bus.consumerWorker(spec)),
        this.replayer,
        intervalWorker('events:purge', purgeIntervalMs, logger, () => this.purgeStep()),
        this.bus.broadcastWorker((event) => this.hub.dispatch(event)),
      ];
      for (const worker of this.running) worker.start();
    },
    stop: async () => {
      const running = this.running;
      this.running = [];
      await Promise.all(running.map((worker) => worker.stop()));
      if (running.length > 0) await this.relay.releaseLeases().catch(() => undefined);
    },
  };

  /** Marks a parked dead letter for replay and wakes this process's replayer. */
  async requestReplay(id: string): ReturnType<DeadLetterRepository['requestReplay']> {
    const result = await this.deadLetters.requestReplay(id);
    if (result.ok) this.replayer.wake();
    return result;
  }

  /** Runs dead letters an operator asked to replay, for the consumers this process knows. */
  async replayStep(): Promise<{ any: boolean; full: boolean }> {
    const claimed = await this.deadLetters.claimReplays([...this.consumers.keys()], replayBatchMax, this.deps.config.eventsLeaseMs);
    for (const letter of claimed) {
      const spec = this.consumers.get(letter.consumer)!;
      try {
        await this.executor.run(spec, letter.event);
        await this.deadLetters.finishReplay(letter.id, { ok: true });
      } catch (error) {
        this.deps.logger.warn({ err: error, deadLetter: letter.id }, 'replay failed; parked again');
        await this.deadLetters.finishReplay(letter.id, { ok: false, error: errorText(error) });
      }
    }
    return { any: claimed.length > 0, full: claimed.length === replayBatchMax };
  }

  /** Deletes bus messages and processed records older than the retention, a bounded batch each. */
  async purgeStep(): Promise<boolean> {
    const { databases, config } = this.deps;
    const cutoff = sql`now() - ${config.eventsRetentionMs} * interval '1 millisecond'`;
    let more = false;
    if (this.bus.kind === 'db') {
      const result = await sql`delete from events.message where seq in (
        select seq from events.message where published_at < ${cutoff} order by seq limit ${purgeBatchMax})`.execute(databases.get('events'));
      more = Number(result.numAffectedRows ?? 0) === purgeBatchMax;
    }
    for (const schema of new Set([...this.consumers.values()].map((spec) => spec.subsystem))) {
      const table = sql.table(`${schema}.processed_event`);
      const result = await sql`delete from ${table} where ctid in (
        select ctid from ${table} where processed_at < ${cutoff} limit ${purgeBatchMax})`.execute(databases.get(schema));
      more = more || Number(result.numAffectedRows ?? 0) === purgeBatchMax;
    }
    return more;
  }

  /** Closes the bus connection (NATS); the workers must be stopped first. */
  async close(): Promise<void> {
    await this.bus.close();
  }
}
