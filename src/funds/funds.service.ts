/**
 * The funds side assembled (SYSTEM.md §7): the GL feed and accounting reports with day close,
 * clearing and external reconciliation, internal reconciliation from the event stream, merchant
 * settlement and the compliance export. Followers only: it learns of trades and channel results
 * from events and of postings from the ledger's voucher feed, and moves money only through the
 * ledger's public API.
 */
import type { Kysely, Transaction } from 'kysely';
import type { ConsumerSpec } from '../events/index.js';
import type { Ledger } from '../ledger/index.js';
import { intervalWorker, type Clock, type Config, type Logger, type Worker } from '../platform/index.js';
import { Accounting } from './accounting.service.js';
import { complianceCsv } from './compliance-export.service.js';
import { FundAccounts } from './fund-accounts.js';
import type { FundsDB } from './funds.table.js';
import { GlFeed } from './gl-feed.service.js';
import { InternalRecon } from './internal-recon.service.js';
import { MerchantSettlement } from './merchant-settlement.service.js';
import { Reconciliation, httpStatementSource, type ChannelOrderSource, type StatementSource } from './recon.service.js';

const settlementCheckIntervalMs = 60_000;

export interface FundsDeps {
  readonly db: Kysely<FundsDB>;
  readonly ledger: Ledger;
  /** The channel gateway's read side (a function: the runtime may build the gateway later). */
  readonly channel: () => ChannelOrderSource;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where statements come from; default: each bank simulator's HTTP endpoint. */
  readonly statements?: StatementSource;
}

export class Funds {
  readonly feed: GlFeed;
  readonly accounting: Accounting;
  readonly recon: Reconciliation;
  readonly internal: InternalRecon;
  readonly settlement: MerchantSettlement;
  readonly accounts: FundAccounts;

  constructor(private readonly deps: FundsDeps) {
    const { db, ledger, clock, config } = deps;
    const logger = deps.logger.child({ subsystem: 'funds' });
    const tuning = config.funds;
    this.accounts = new FundAccounts(ledger);
    this.feed = new GlFeed(db, ledger, clock, logger, { batchMax: tuning.glBatchMax, gapWaitMs: tuning.glGapWaitMs });
    this.accounting = new Accounting(db, this.feed, clock);
    const banks = { alpha: config.banks.alpha, beta: config.banks.beta };
    this.recon = new Reconciliation(db, ledger, this.accounts, deps.channel, deps.statements ?? httpStatementSource(banks), Object.keys(banks), logger);
    this.internal = new InternalRecon(db, clock, logger, { windowMs: tuning.internalReconWindowMs, batchMax: 200 });
    this.settlement = new MerchantSettlement(db, ledger, this.accounts, this.feed, clock, logger, { defaultFeeRateBp: tuning.defaultFeeRateBp, settlementBank: tuning.settlementBank, settlementTimeUtc: config.trade.settlementTimeUtc });
  }

  /** The event consumers: clearing (channel successes) and internal reconciliation (paid trades). */
  consumers(): ConsumerSpec[] {
    return [
      {
        name: 'funds-clearing',
        topics: ['channel.order_succeeded'],
        subsystem: 'funds',
        handle: (event, trx) => this.recon.onChannelSucceeded(event, trx as Transaction<FundsDB>),
        handleMany: (items, trx) => this.recon.onChannelSucceededMany(items.map((item) => item.event), trx as Transaction<FundsDB>),
      },
      {
        name: 'funds-internal-recon',
        topics: ['trade.paid', 'payment.reported'],
        subsystem: 'funds',
        handle: (event, trx) => this.internal.onEvent(event, trx as Transaction<FundsDB>),
        handleMany: (items, trx) => this.internal.onEvents(items.map((item) => item.event), trx as Transaction<FundsDB>),
      },
    ];
  }

  /** The GL feed, the internal reconciliation check and the T+1 settlement schedule. */
  workers(): Worker[] {
    const { config } = this.deps;
    const logger = this.deps.logger.child({ subsystem: 'funds' });
    return [
      intervalWorker('funds-gl', config.funds.glIntervalMs, logger, () => this.feed.pass()),
      intervalWorker('funds-internal-recon', config.funds.internalReconIntervalMs, logger, () => this.internal.check()),
      intervalWorker('funds-settlement', settlementCheckIntervalMs, logger, () => this.settlement.scheduled()),
    ];
  }

  /** The compliance CSV of one day (UTC), all merchants or one. */
  complianceCsv(date: string, merchantId?: string): Promise<string> {
    return complianceCsv(this.deps.db, date, merchantId);
  }
}

export function createFunds(deps: FundsDeps): Funds {
  return new Funds(deps);
}
