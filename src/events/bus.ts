/** The bus the relay publishes to and consumers read from: the database, or NATS JetStream. */
import type { Worker } from '../platform/index.js';
import type { ConsumerSpec } from './consumer.js';
import type { BusEvent } from './event.js';

export interface Bus {
  readonly kind: 'db' | 'nats';
  /** Publishes in order; throws if any was not stored (the relay then publishes the rest again; ids dedupe). */
  publish(events: readonly BusEvent[]): Promise<void>;
  /** The background loop that feeds one consumer in this process, sharing the work with other processes. */
  consumerWorker(spec: ConsumerSpec): Worker;
  /** Receives broadcast events in this process (every process gets each one, at most once). */
  broadcastWorker(dispatch: (event: BusEvent) => void): Worker;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
