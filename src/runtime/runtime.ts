/**
 * The composition root: builds every subsystem over its database handle, wires them together
 * through their public index.ts, and hands the HTTP routes and background workers to the caller.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ClientService, IdempotencyStore, OperatorService, type AccessDB } from '../access/index.js';
import { channelRoutes, createChannelSubsystem, type ChannelDB, type ChannelGateway } from '../channel/index.js';
import { Events, eventsRoutes } from '../events/index.js';
import { buildHttpApp } from '../http/index.js';
import { NotifyService, notifyRoutes } from '../notify/index.js';
import { createLedger, ledgerOptionsFrom, ledgerRoutes, type Ledger, type LedgerDB } from '../ledger/index.js';
import { MarketingService, marketingRoutes, type MarketingDB } from '../marketing/index.js';
import { MemberService, memberRoutes, type MemberDB } from '../member/index.js';
import { RiskService, riskRoutes, type RiskDB } from '../risk/index.js';
import { channelPort, createTradeSubsystem, type TradeSubsystem } from '../trade/index.js';
import { createFunds, fundsRoutes, type Funds, type FundsDB } from '../funds/index.js';
import { createAlipaySubsystem, tradePartOf, tradeCorePort, type AlipayDB, type AlipaySubsystem } from '../alipay/index.js';
import { createWeb, type Web } from '../web/index.js';
import { Registry } from 'prom-client';
import { systemClock, type Clock, type Config, type Databases, type Logger, type Worker } from '../platform/index.js';

export interface RuntimeDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly databases: Databases;
  readonly clock?: Clock;
}

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly databases: Databases;
  readonly clients: ClientService;
  readonly operators: OperatorService;
  readonly ledger: Ledger;
  readonly events: Events;
  readonly notify: NotifyService;
  readonly channel: ChannelGateway;
  readonly members: MemberService;
  readonly marketing: MarketingService;
  readonly risk: RiskService;
  /** Trade core and payment core (src/trade, src/payment). */
  readonly trade: TradeSubsystem;
  readonly alipay: AlipaySubsystem;
  /** Accounting, clearing, reconciliation, settlement, compliance (src/funds). */
  readonly funds: Funds;
  /** The cashier page and the console (src/web). */
  readonly web: Web;
  readonly http: FastifyInstance;
  readonly workers: Worker[];
  startWorkers(): void;
  stopWorkers(): Promise<void>;
}

export async function createRuntime(deps: RuntimeDeps): Promise<Runtime> {
  const { config, logger, databases } = deps;
  const clock = deps.clock ?? systemClock;
  const accessDb = databases.get<AccessDB>('access');
  const clients = new ClientService(accessDb);
  const operators = new OperatorService(accessDb);
  const idempotency = new IdempotencyStore(accessDb, config.idempotencyLockMs);

  const routes: FastifyPluginAsync[] = [];
  const workers: Worker[] = [];
  // One /metrics for the process: HTTP's own figures and the subsystems' (the channels').
  const metrics = new Registry();
  const ledger = createLedger({
    db: databases.get<LedgerDB>('ledger'),
    pool: databases.pool('ledger'),
    clock,
    logger: logger.child({ subsystem: 'ledger' }),
    options: ledgerOptionsFrom(config),
  });
  routes.push(ledgerRoutes(ledger));
  workers.push(...ledger.workers());
  const events = await Events.create({ databases, config, logger });
  routes.push(eventsRoutes(events));
  workers.push(events.worker);
  const notify = new NotifyService({ databases, config, logger, clients });
  events.consume(notify.merchantConsumer);
  routes.push(notifyRoutes(notify));
  workers.push(notify.worker);
  const channel = createChannelSubsystem({ db: databases.get<ChannelDB>('channel'), config, logger, metrics });
  await channel.init();
  routes.push(channelRoutes(channel.gateway, config));
  workers.push(channel.worker);
  const members = new MemberService({
    db: databases.get<MemberDB>('member'),
    ledger,
    cards: channel.gateway,
    clock,
    logger: logger.child({ subsystem: 'member' }),
    options: MemberService.optionsFrom(config),
  });
  routes.push(memberRoutes(members, ledger));
  workers.push(...members.workers());
  const marketing = new MarketingService({ db: databases.get<MarketingDB>('marketing'), ledger, members, clock, logger: logger.child({ subsystem: 'marketing' }), options: MarketingService.optionsFrom(config) });
  routes.push(marketingRoutes(marketing, { maxAmountMinor: config.maxAmountMinor, clock }));
  workers.push(...marketing.workers());
  const risk = new RiskService(databases.get<RiskDB>('risk'), clock, RiskService.defaultsFrom(config));
  routes.push(riskRoutes(risk));
  const trade = createTradeSubsystem({ databases, ledger, members, marketing, risk, channel: channelPort(channel.gateway), config, clock, logger });
  routes.push(...trade.routes);
  workers.push(...trade.workers);

  // The Alipay gateway maps onto the trade core through its public services (TradeCorePort).
  const alipay = createAlipaySubsystem({ db: databases.get<AlipayDB>('alipay'), clients, trades: tradeCorePort(members, tradePartOf(trade)), notify, config, clock, logger });
  notify.registerKind(alipay.deliveryKind);
  events.consume(alipay.notifyConsumer);
  routes.push(...alipay.routes);
  workers.push(...alipay.workers);

  const funds = createFunds({ db: databases.get<FundsDB>('funds'), ledger, channel: () => channel.gateway, config, clock, logger });
  for (const consumer of funds.consumers()) events.consume(consumer);
  routes.push(fundsRoutes(funds));
  workers.push(...funds.workers());

  const web = createWeb({ config, clock, operators, clients, channel: channel.gateway, members, marketing, ledger, trade });
  routes.push(...web.routes);

  const http = await buildHttpApp({
    config,
    logger,
    clients,
    operators,
    idempotency,
    readiness: async () => ({ ...(await databases.ping()), bus: await events.ping() }),
    routes,
    metrics,
  });

  return {
    config,
    logger,
    clock,
    databases,
    clients,
    operators,
    ledger,
    events,
    notify,
    channel: channel.gateway,
    members,
    marketing,
    risk,
    trade,
    alipay,
    funds,
    web,
    http,
    workers,
    startWorkers: () => workers.forEach((worker) => worker.start()),
    stopWorkers: async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
    },
  };
}
