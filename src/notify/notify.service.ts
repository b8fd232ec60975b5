/** The notify subsystem assembled: the queue, the kinds (merchant built in), the worker, the consumer. */
import type { Kysely, Transaction } from 'kysely';
import type { ClientService } from '../access/index.js';
import type { ConsumerSpec } from '../events/index.js';
import { intervalWorker, type Config, type Databases, type Logger, type Worker } from '../platform/index.js';
import { merchantKind, type DeliveryKind } from './delivery-kind.js';
import { DeliveryRepository, enqueueDelivery, type NewDelivery } from './delivery.repository.js';
import { DeliveryWorker } from './delivery.worker.js';
import { merchantNotifyConsumer } from './merchant-notify.consumer.js';
import type { NotifyDB } from './notify.table.js';

export interface NotifyDeps {
  readonly databases: Databases;
  readonly config: Config;
  readonly logger: Logger;
  readonly clients: ClientService;
}

/** Finished deliveries removed per purge step, and how often an idle purge looks. */
const purgeBatchMax = 1_000;
const purgeIntervalMs = 60_000;

export class NotifyService {
  readonly repository: DeliveryRepository;
  /** Register with `events.consume(...)`: turns client-visible events into merchant notifications. */
  readonly merchantConsumer: ConsumerSpec;
  readonly worker: Worker;
  private readonly kinds = new Map<string, DeliveryKind>();

  constructor(deps: NotifyDeps) {
    const logger = deps.logger.child({ subsystem: 'notify' });
    this.repository = new DeliveryRepository(deps.databases.get<NotifyDB>('notify'));
    this.registerKind(merchantKind(deps.clients, { scheduleMs: deps.config.notifyScheduleMs, timeoutMs: deps.config.notifyTimeoutMs }));
    this.merchantConsumer = merchantNotifyConsumer(deps.clients, logger);
    const delivery = new DeliveryWorker({ repository: this.repository, kinds: this.kinds, config: deps.config, logger });
    const purge = intervalWorker('notify:purge', purgeIntervalMs, logger, () =>
      this.repository.purgeFinished(new Date(Date.now() - deps.config.notifyRetentionMs), purgeBatchMax),
    );
    this.worker = {
      name: 'notify',
      start: () => {
        delivery.start();
        purge.start();
      },
      stop: async () => {
        await Promise.all([delivery.stop(), purge.stop()]);
      },
    };
  }

  /** Adds a kind of notification (its signer, schedule, timeout, acknowledgement); before start. */
  registerKind(kind: DeliveryKind): void {
    if (!/^[a-z][a-z0-9_-]{0,30}$/.test(kind.name)) throw new Error(`delivery kind name "${kind.name}" is not valid`);
    if (this.kinds.has(kind.name)) throw new Error(`delivery kind "${kind.name}" registered twice`);
    this.kinds.set(kind.name, kind);
  }

  /** Queues a notification inside a transaction on the notify database (e.g. in a consumer's handler). */
  enqueue(trx: Transaction<NotifyDB> | Kysely<NotifyDB>, delivery: NewDelivery): Promise<string | undefined> {
    if (!this.kinds.has(delivery.kind)) throw new Error(`unknown delivery kind "${delivery.kind}"`);
    return enqueueDelivery(trx, delivery);
  }
}
