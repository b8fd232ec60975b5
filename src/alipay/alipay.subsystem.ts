/** The gateway assembled from its parts; the runtime hands in the trade core (a TradeCorePort). */
import type { FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import type { ClientService } from '../access/index.js';
import type { ConsumerSpec } from '../events/index.js';
import { usableNotifyUrl, type DeliveryKind, type NotifyService } from '../notify/index.js';
import { intervalWorker, type Clock, type Config, type Logger, type Worker } from '../platform/index.js';
import { AlipayAppService } from './alipay-app.service.js';
import { AlipayGateway } from './alipay-gateway.service.js';
import { AlipayLinkRepository, PreOrderRepository } from './alipay-link.repository.js';
import { AlipayMethods } from './alipay-methods.js';
import { alipayKind, alipayNotifyConsumer } from './alipay-notify.js';
import { alipayRoutes } from './alipay.routes.js';
import type { AlipayDB } from './alipay.table.js';
import { BillService } from './bill.service.js';
import { NonceRepository } from './nonce.repository.js';
import type { TradeCorePort } from './trade-core.port.js';

export interface AlipayDeps {
  readonly db: Kysely<AlipayDB>;
  readonly clients: ClientService;
  readonly trades: TradeCorePort;
  readonly notify: NotifyService;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface AlipaySubsystem {
  readonly apps: AlipayAppService;
  readonly gateway: AlipayGateway;
  readonly bills: BillService;
  readonly routes: FastifyPluginAsync[];
  /** Purges v3 nonces past the freshness window. */
  readonly workers: Worker[];
  /** Register with notify.registerKind and events.consume (done by createAlipaySubsystem's caller). */
  readonly deliveryKind: DeliveryKind;
  readonly notifyConsumer: ConsumerSpec;
}

const noncePurgeIntervalMs = 60_000;

export function createAlipaySubsystem(deps: AlipayDeps): AlipaySubsystem {
  const { config, clock } = deps;
  const logger = deps.logger.child({ subsystem: 'alipay' });
  const tuning = config.alipay;
  const apps = new AlipayAppService(deps.db, deps.clients);
  const links = new AlipayLinkRepository(deps.db);
  const bills = new BillService({ apps, links, trades: deps.trades, clock, timeZone: tuning.timeZone, ttlMs: tuning.billUrlTtlMs });
  const preOrders = new PreOrderRepository(deps.db);
  const methods = new AlipayMethods({ trades: deps.trades, apps, links, preOrders, bills, clock, maxAmountMinor: config.maxAmountMinor, timeZone: tuning.timeZone });
  const nonces = new NonceRepository(deps.db);
  const gateway = new AlipayGateway({ apps, methods, nonces, clock, logger, timestampWindowMs: tuning.timestampWindowMs, timeZone: tuning.timeZone, usableNotifyUrl });
  return {
    apps,
    gateway,
    bills,
    routes: alipayRoutes(gateway, bills, methods),
    workers: [intervalWorker('alipay-nonce-purge', noncePurgeIntervalMs, logger, () => nonces.purge(clock.now()))],
    deliveryKind: alipayKind(apps, { scheduleMs: tuning.notifyScheduleMs, timeoutMs: tuning.notifyTimeoutMs, timeZone: tuning.timeZone }),
    notifyConsumer: alipayNotifyConsumer({ apps, links, trades: deps.trades, notify: deps.notify, timeZone: tuning.timeZone, logger }),
  };
}
