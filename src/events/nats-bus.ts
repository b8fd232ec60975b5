/**
 * NATS JetStream as the bus (PAYCORE_BUS=nats://…). One stream; an event's subject carries its
 * key bucket (`<stream>.e.<bucket>.<type>`). Each consumer has one durable pull consumer per
 * bucket with at most one message unacknowledged, so any number of worker processes share the
 * buckets while each key's events are handled one at a time, in order. A message unacked after
 * the lease (a killed worker) goes to another process. Broadcasts are a plain NATS subject.
 */
import {
  AckPolicy,
  DeliverPolicy,
  JSONCodec,
  RetentionPolicy,
  StorageType,
  connect,
  nanos,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  type Subscription,
} from 'nats';
import type { Config, Logger, Worker } from '../platform/index.js';
import type { Bus } from './bus.js';
import { afterFailure, errorText, type ConsumerExecutor, type ConsumerSpec } from './consumer.js';
import type { DeadLetterRepository } from './dead-letter.repository.js';
import { bucketOf, matchesTopic, type BusEvent } from './event.js';

export interface NatsBusDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly executor: ConsumerExecutor;
  readonly deadLetters: DeadLetterRepository;
}

const codec = JSONCodec<BusEvent>();
/** JetStream drops a re-published id within this window; consumers' processed records cover the rest. */
const duplicateWindowMs = 120_000;

export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  private readonly js: JetStreamClient;
  private readonly stream: string;
  private streamReady: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly deps: NatsBusDeps,
  ) {
    this.js = nc.jetstream();
    this.stream = deps.config.eventsNatsStream;
  }

  /** Connects (failing fast when the server does not answer) and makes sure the stream exists. */
  static async connect(url: string, deps: NatsBusDeps): Promise<NatsBus> {
    const parsed = new URL(url);
    const nc = await connect({ servers: `${parsed.hostname}:${parsed.port || '4222'}`, name: 'paycore', timeout: 5_000, maxReconnectAttempts: -1 });
    const bus = new NatsBus(nc, await nc.jetstreamManager(), deps);
    await bus.ensureStream();
    return bus;
  }

  private ensureStream(): Promise<void> {
    this.streamReady ??= (async () => {
      const config = {
        name: this.stream,
        subjects: [`${this.stream}.e.>`],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: nanos(this.deps.config.eventsRetentionMs),
        duplicate_window: nanos(duplicateWindowMs),
      };
      try {
        await this.jsm.streams.info(this.stream);
      } catch {
        await this.jsm.streams.add(config).catch(async (error: unknown) => {
          await this.jsm.streams.info(this.stream).catch(() => {
            throw error; // not created concurrently by another process either
          });
        });
      }
    })();
    return this.streamReady;
  }

  subject(event: BusEvent): string {
    return `${this.stream}.e.${bucketOf(event.key, this.deps.config.eventsBuckets)}.${event.type}`;
  }

  /** One at a time, each acknowledged by the server before the next: a failure never reorders a key. */
  async publish(events: readonly BusEvent[]): Promise<void> {
    for (const event of events) {
      await this.js.publish(this.subject(event), codec.encode(event), { msgID: event.id, timeout: 5_000 });
      if (event.broadcast) this.nc.publish(`${this.stream}.broadcast`, codec.encode(event));
    }
  }

  consumerWorker(spec: ConsumerSpec): Worker {
    return new NatsConsumerRunner(spec, this.jsm, this.js, this.stream, this.deps);
  }

  broadcastWorker(dispatch: (event: BusEvent) => void): Worker {
    let subscription: Subscription | undefined;
    return {
      name: 'events:broadcast',
      start: () => {
        if (subscription) return;
        subscription = this.nc.subscribe(`${this.stream}.broadcast`, {
          callback: (error, msg) => {
            if (error) return this.deps.logger.warn({ err: error }, 'broadcast subscription error');
            try {
              dispatch(codec.decode(msg.data));
            } catch (failure) {
              this.deps.logger.warn({ err: failure }, 'broadcast could not be decoded');
            }
          },
        });
      },
      stop: async () => {
        subscription?.unsubscribe();
        subscription = undefined;
      },
    };
  }

  async ping(): Promise<boolean> {
    if (this.nc.isClosed()) return false;
    try {
      await Promise.race([this.nc.flush(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref())]);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

/** One consumer's pull loops on this process, one per bucket. */
class NatsConsumerRunner implements Worker {
  readonly name: string;
  private readonly loops: Array<{ messages: ConsumerMessages; done: Promise<void> }> = [];
  private starting: Promise<void> | undefined;
  private stopped = true;
  private readonly log: Logger;

  constructor(
    private readonly spec: ConsumerSpec,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly deps: NatsBusDeps,
  ) {
    this.name = `events:${spec.name}`;
    this.log = deps.logger.child({ consumer: spec.name });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.starting = this.openLoops().catch((error: unknown) => this.log.error({ err: error }, 'could not start the JetStream consumer'));
  }

  private async openLoops(): Promise<void> {
    const { config } = this.deps;
    for (let bucket = 0; bucket < config.eventsBuckets && !this.stopped; bucket += 1) {
      const durable = `${this.spec.name}_${bucket}`;
      const settings = {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: this.spec.startAt === 'newest' ? DeliverPolicy.New : DeliverPolicy.All,
        filter_subject: `${this.stream}.e.${bucket}.>`,
        // One unacknowledged message per bucket across all processes: that is the per-key order.
        max_ack_pending: 1,
        ack_wait: nanos(config.eventsLeaseMs),
        max_deliver: -1,
      };
      await this.jsm.consumers.add(this.stream, settings).catch(async () => {
        await this.jsm.consumers.update(this.stream, durable, { ack_wait: settings.ack_wait, max_ack_pending: 1 });
      });
      const consumer = await this.js.consumers.get(this.stream, durable);
      const messages = await consumer.consume({ max_messages: 1, expires: 5_000 });
      const done = (async () => {
        for await (const msg of messages) {
          // handle() settles every message itself; an escape here must not end the bucket's loop.
          await this.handle(msg).catch((error: unknown) => this.log.error({ err: error, bucket }, 'message handling failed'));
          if (this.stopped) break;
        }
      })().catch((error: unknown) => this.log.error({ err: error, bucket }, 'JetStream pull loop ended'));
      this.loops.push({ messages, done });
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const { executor, deadLetters, config } = this.deps;
    let event: BusEvent;
    try {
      event = codec.decode(msg.data);
    } catch (error) {
      this.log.error({ err: error, seq: msg.seq }, 'undecodable message terminated');
      msg.term();
      return;
    }
    try {
      if (matchesTopic(this.spec.topics, event.type)) await executor.run(this.spec, event);
      await msg.ackAck();
    } catch (error) {
      const failures = msg.info.deliveryCount;
      const next = afterFailure(config.eventsRetryBackoffMs, failures);
      this.log.warn({ err: error, eventId: event.id, type: event.type, failures }, next.park ? 'consumer failed; event dead-lettered' : 'consumer failed; will retry');
      try {
        if (!next.park) return msg.nak(next.retryInMs);
        await deadLetters.park(this.spec.name, event, errorText(error), failures);
        await msg.ackAck();
      } catch (parkError) {
        // Not parked: leave it unacknowledged, it comes back after the lease.
        this.log.error({ err: parkError, eventId: event.id }, 'could not dead-letter the event');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting;
    for (const loop of this.loops) loop.messages.stop();
    await Promise.all(this.loops.map((loop) => loop.done));
    this.loops.length = 0;
  }
}
