/**
 * Builds the trade core and the payment core over their databases. Trade and payment share one
 * database (asserted): the trade's status and the payment activity change in one transaction.
 * Ledger and marketing may live elsewhere: then every payment runs as full TCC.
 */
import { strict as assert } from 'node:assert';
import type { FastifyPluginAsync } from 'fastify';
import type { Ledger } from '../ledger/index.js';
import { PaymentService, type ChannelPort, type MarketingPort, type MemberPort, type PaymentDB, type RiskPort } from '../payment/index.js';
import { intervalWorker, type Clock, type Config, type Databases, type Logger, type Worker } from '../platform/index.js';
import { ExceptionRefunds } from './exception-refund.service.js';
import { fundsRoutes } from './funds.routes.js';
import { FundsService } from './funds.service.js';
import { InstantFinishJob } from './instant-finish.job.js';
import { MemberCache } from './member-cache.js';
import { RefundService } from './refund.service.js';
import { tradeRoutes } from './trade.routes.js';
import { TradeService } from './trade.service.js';
import type { TradeDB } from './trade.table.js';

export interface TradeSubsystemDeps {
  readonly databases: Databases;
  readonly ledger: Ledger;
  readonly members: MemberPort;
  readonly marketing: MarketingPort;
  readonly risk: RiskPort;
  readonly channel: ChannelPort;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface TradeSubsystem {
  readonly trades: TradeService;
  readonly refunds: RefundService;
  readonly funds: FundsService;
  readonly exceptions: ExceptionRefunds;
  readonly payment: PaymentService;
  readonly routes: FastifyPluginAsync[];
  readonly workers: Worker[];
  /** One pass of every trade job (timeouts, escrow auto-confirm, instant refund window, exception refunds, orphans); tests call it with their own time. */
  runJobs(now?: Date): Promise<number>;
}

export function createTradeSubsystem(deps: TradeSubsystemDeps): TradeSubsystem {
  const { databases, config, clock } = deps;
  assert(databases.shareDatabase('trade', 'payment'), 'trade and payment must share one database (TRADE_DATABASE_URL = PAYMENT_DATABASE_URL)');
  const logger = deps.logger.child({ subsystem: 'trade' });
  const tuning = config.trade;
  const payment = new PaymentService({
    db: databases.get<PaymentDB>('payment'),
    ledger: deps.ledger,
    members: deps.members,
    marketing: deps.marketing,
    risk: deps.risk,
    channel: deps.channel,
    shares: { ledger: databases.shareDatabase('payment', 'ledger'), marketing: databases.shareDatabase('payment', 'marketing') },
    clock,
    logger: deps.logger.child({ subsystem: 'payment' }),
    options: { tryTimeoutMs: tuning.tryTimeoutMs, cardWaitMs: tuning.cardWaitMs, recoveryIntervalMs: tuning.workerIntervalMs },
  });
  const db = databases.get<TradeDB>('trade');
  const members = new MemberCache(deps.members);
  const exceptions = new ExceptionRefunds({ db, payment, clock, logger });
  const trades = new TradeService({
    db,
    payment,
    members,
    exceptions,
    clock,
    logger,
    options: { timeoutDefaultSeconds: tuning.timeoutDefaultSeconds, escrowAutoConfirmMs: tuning.escrowAutoConfirmMs, settlementTimeUtc: tuning.settlementTimeUtc, workerIntervalMs: tuning.workerIntervalMs },
  });
  const refunds = new RefundService({ db, payment, members, clock, logger, instantRefundWindowMs: tuning.instantRefundWindowMs });
  const instantFinish = new InstantFinishJob({ db, clock, logger, refundWindowMs: tuning.instantRefundWindowMs });
  const funds = new FundsService({ db, payment, members, cards: deps.members, exceptions, clock, logger, settlementTimeUtc: tuning.settlementTimeUtc });
  const runJobs = async (now: Date = clock.now()) =>
    (await trades.runJobs(now)) + (await instantFinish.run(now)) + (await refunds.runJobs(now)) + (await exceptions.runPending());
  return {
    trades,
    refunds,
    funds,
    exceptions,
    payment,
    routes: [tradeRoutes(trades, refunds, config), fundsRoutes(funds, refunds, config)],
    workers: [...payment.workers(), intervalWorker('trade-jobs', tuning.workerIntervalMs, logger, async () => (await runJobs()) >= 100)],
    runJobs,
  };
}
