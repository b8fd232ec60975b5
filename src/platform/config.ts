/**
 * Configuration: read from the environment once, here, validated, and passed in. No other
 * module reads process.env. Defaults carry their unit in the name.
 */
import path from 'node:path';

/** Subsystems that own a schema; each may be pointed at a database of its own. */
export const subsystems = ['access', 'ledger', 'member', 'marketing', 'risk', 'trade', 'payment', 'channel', 'events', 'notify', 'funds', 'alipay'] as const;
export type Subsystem = (typeof subsystems)[number];

export interface Config {
  readonly port: number;
  readonly host: string;
  /** The shared database; undefined means the embedded PostgreSQL under dataDir. */
  readonly databaseUrl: string | undefined;
  /** Optional per-subsystem database URLs (the seeds' vertical split); default: databaseUrl. */
  readonly subsystemDatabaseUrls: Partial<Record<Subsystem, string>>;
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly dbPoolMax: number;
  readonly logLevel: string;
  readonly sandbox: boolean;
  readonly bus: string | undefined;
  readonly bodyLimitBytes: number;
  readonly maxAmountMinor: bigint;
  readonly rateLimitPerSecond: number;
  readonly rateLimitConcurrency: number;
  readonly idempotencyLockMs: number;
  /** Ledger posting engine (src/ledger): vouchers per batch, wait to fill one, batches in flight. */
  readonly ledgerBatchMax: number;
  readonly ledgerBatchWaitMs: number;
  readonly ledgerFlushers: number;
  /** How often buffered hot-account entries are folded into balances, and holds checked for expiry. */
  readonly ledgerFoldIntervalMs: number;
  readonly ledgerHoldExpiryIntervalMs: number;
  /** The (simulated) banks the channel gateway talks to: base URL and shared secret per bank. */
  readonly banks: BankEndpoints;
  /** Channel gateway timing: bank call timeout, query backoff, circuit breaker. */
  readonly channel: ChannelTuning;
  /** Events (src/events): key buckets (fixed for the life of the data: a key's order lives in its bucket). */
  readonly eventsBuckets: number;
  readonly eventsRelayIntervalMs: number;
  readonly eventsRelayBatchMax: number;
  readonly eventsConsumerIntervalMs: number;
  readonly eventsConsumerBatchMax: number;
  /** How long a process holds a consumer bucket (DB bus) or a message unacked (NATS) before others take over. */
  readonly eventsLeaseMs: number;
  /** Backoff before each retry of a failing consumer; after the last one the event is dead-lettered. */
  readonly eventsRetryBackoffMs: readonly number[];
  /** JetStream stream (and subject prefix) name; tests use one of their own. */
  readonly eventsNatsStream: string;
  /** How long the DB bus keeps published messages. */
  readonly eventsRetentionMs: number;
  /** Merchant notifications (src/notify): the retry schedule after the first try. */
  readonly notifyScheduleMs: readonly number[];
  readonly notifyTimeoutMs: number;
  readonly notifyConcurrencyPerClient: number;
  readonly notifyBatchMax: number;
  readonly notifyIntervalMs: number;
  /** Finished notification deliveries (and their tries) are kept this long, then purged. */
  readonly notifyRetentionMs: number;
  /** Whether notifications may go to loopback, private or reserved addresses (src/notify/address-guard.ts). */
  readonly notifyPrivateAddresses: boolean;
  /** Members (src/member): wrong payment passwords before a lock, and how long the lock lasts. */
  readonly memberPasswordTriesMax: number;
  readonly memberPasswordLockMs: number;
  /** How long a payment code (the 18-digit bar code shown at a till) may be redeemed. */
  readonly memberPaymentCodeTtlMs: number;
  /** Marketing (src/marketing): how often expired coupons and red packets are returned to the budget. */
  readonly marketingExpiryIntervalMs: number;
  /** Risk defaults (API.md "Risk defaults"), minor units; clients may have their own in risk.client_limit. */
  readonly riskPasswordThresholdMinor: bigint;
  readonly riskSingleLimitMinor: bigint;
  readonly riskDailyLimitMinor: bigint;
  /** Alipay gateway (src/alipay); see AlipayTuning. */
  readonly alipay: AlipayTuning;
  /** Trade and payment core (src/trade, src/payment): timeouts, escrow, settlement time, recovery. */
  readonly trade: TradeTuning;
  /** Funds side (src/funds): GL feed, internal reconciliation window, merchant fees. */
  readonly funds: FundsTuning;
  /** The cashier page and the console (src/web). */
  readonly web: WebTuning;
}

/** The cashier page: how its links are signed and how long it waits for each payment-method source. */
export interface WebTuning {
  /** HMAC key of cashier links (a link is the whole credential of the page: keep it secret). */
  readonly cashierSecret: string;
  readonly cashierLinkTtlMs: number;
  /** Each source of payment methods (balance, cards, coupons) gets this long; a slower one is left out. */
  readonly cashierSourceTimeoutMs: number;
}

/** The funds side: accounting, clearing, reconciliation, settlement; every wait and batch bounded. */
export interface FundsTuning {
  /** How often the GL follows the ledger's voucher feed, and vouchers read per pass. */
  readonly glIntervalMs: number;
  readonly glBatchMax: number;
  /** How long the GL waits for a voucher seq gap to fill (a posting still committing) before passing it. */
  readonly glGapWaitMs: number;
  /** A paid trade still missing its payment, channel order or vouchers after this long is flagged (within 5 minutes with the check interval). */
  readonly internalReconWindowMs: number;
  readonly internalReconIntervalMs: number;
  /** Merchant fee in basis points when a merchant has no rate of its own (60 = 0.60%). */
  readonly defaultFeeRateBp: number;
  /** The bank whose deposit account pays merchant settlements out. */
  readonly settlementBank: string;
}

/** Trade and payment core timing; every wait is bounded. */
export interface TradeTuning {
  /** An unpaid trade without timeout_seconds closes after this long. */
  readonly timeoutDefaultSeconds: number;
  /** An escrow trade the buyer does not confirm is confirmed after this long. */
  readonly escrowAutoConfirmMs: number;
  /** A paid instant trade can be refunded for this long after payment; then the trade-jobs worker moves it to finished. */
  readonly instantRefundWindowMs: number;
  /** T+1 withdrawals are paid out at this time (UTC, HH:MM) of the next day. */
  readonly settlementTimeUtc: string;
  /** How often the trade jobs (timeouts, escrow, exception refunds) and the TCC recovery run. */
  readonly workerIntervalMs: number;
  /** A TCC activity still trying (or confirming/cancelling, untouched) after this long is finished by recovery. */
  readonly tryTimeoutMs: number;
  /** A card payment without a bank answer after this long is given up; a late success is refunded. */
  readonly cardWaitMs: number;
}

/** The Alipay-compatible gateway: request freshness, the zone of its wall-clock times, notifications. */
export interface AlipayTuning {
  /** A v2 `timestamp` or v3 auth timestamp further than this from now (either way) is refused. */
  readonly timestampWindowMs: number;
  /** IANA zone in which v2 `timestamp`, `bill_date` and notification times are read and written (Alipay: Beijing time). */
  readonly timeZone: string;
  /** Retries of an unacknowledged Alipay notification, after the first try. */
  readonly notifyScheduleMs: readonly number[];
  readonly notifyTimeoutMs: number;
  /** How long a bill download URL stays valid. */
  readonly billUrlTtlMs: number;
}

/** Where each bank answers and the secret both sides sign with (dev defaults; set real ones). */
export interface BankEndpoints {
  readonly alpha: { readonly url: string; readonly secret: string };
  readonly beta: { readonly url: string; readonly secret: string };
  /** Key of the simulated card network (6228 cards): its tokens are valid at every bank. */
  readonly networkKey: string;
  /** Key of the keyed hash that recognises a bound card again without storing its number. */
  readonly cardHashKey: string;
  /** `paycore start` spawns the simulators itself (PAYCORE_BANK_SIMS=on|off). */
  readonly spawnSimulators: boolean;
}

/** Channel gateway timing; every wait and retry is bounded. */
export interface ChannelTuning {
  /** Where banks send callbacks; undefined: http://<host>:<port>. */
  readonly callbackBaseUrl: string | undefined;
  readonly callTimeoutMs: number;
  /** A sent order with no callback after this long is queried. */
  readonly callbackWaitMs: number;
  readonly queryBackoffBaseMs: number;
  readonly queryBackoffMaxMs: number;
  /** A query answering "no such request" makes an order failed only when it was sent this long ago. */
  readonly notFoundFailAfterMs: number;
  readonly breakerWindowMs: number;
  readonly breakerMinCalls: number;
  /** Below this success rate (percent) over the window the circuit opens. */
  readonly breakerThresholdPercent: number;
  /** This many timeouts in a row open the circuit at once. */
  readonly breakerTimeoutsToOpen: number;
  readonly breakerOpenMs: number;
  readonly breakerProbesToClose: number;
  readonly workerIntervalMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

const durationUnitsMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A comma-separated list of durations with units (`15s,1m,2h`, `250ms`), each > 0 and ≤ a day. */
function durations(env: Env, name: string, fallback: readonly number[], maxCount: number): readonly number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const items = raw.split(',').map((item) => item.trim());
  if (items.length > maxCount) throw new ConfigError(`${name} may list at most ${maxCount} durations`);
  return items.map((item) => {
    const match = /^(\d+)(ms|s|m|h)$/.exec(item);
    if (!match) throw new ConfigError(`${name} must list durations like 15s,1m,2h; got "${item}"`);
    const value = Number(match[1]) * durationUnitsMs[match[2]!]!;
    if (value <= 0 || value > 86_400_000) throw new ConfigError(`${name}: each duration must be above 0 and at most 24h`);
    return value;
  });
}

function url(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^postgres(ql)?:\/\//.test(raw)) throw new ConfigError(`${name} must be a postgres:// URL`);
  return raw;
}

function natsName(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new ConfigError(`${name} must be letters, digits, _ or -`);
  return raw;
}

function httpUrl(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  if (!/^https?:\/\/[^\s]+$/.test(raw)) throw new ConfigError(`${name} must be an http(s):// URL`);
  return raw.replace(/\/+$/, '');
}

function secret(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  if (raw.length < 16) throw new ConfigError(`${name} must be at least 16 characters`);
  return raw;
}

function onOff(env: Env, name: string, fallback: 'on' | 'off'): boolean {
  const raw = (env[name] || fallback).toLowerCase();
  if (raw !== 'on' && raw !== 'off') throw new ConfigError(`${name} must be on or off`);
  return raw === 'on';
}

function loadBanks(env: Env): BankEndpoints {
  return {
    alpha: { url: httpUrl(env, 'PAYCORE_BANK_ALPHA_URL', 'http://127.0.0.1:18081'), secret: secret(env, 'PAYCORE_BANK_ALPHA_SECRET', 'dev-alpha-secret-change-me') },
    beta: { url: httpUrl(env, 'PAYCORE_BANK_BETA_URL', 'http://127.0.0.1:18082'), secret: secret(env, 'PAYCORE_BANK_BETA_SECRET', 'dev-beta-secret-change-me') },
    networkKey: secret(env, 'PAYCORE_CARD_NETWORK_KEY', 'dev-card-network-key-change-me'),
    cardHashKey: secret(env, 'PAYCORE_CARD_HASH_KEY', 'dev-card-hash-key-change-me'),
    spawnSimulators: onOff(env, 'PAYCORE_BANK_SIMS', 'on'),
  };
}

function loadWeb(env: Env): WebTuning {
  return {
    cashierSecret: secret(env, 'PAYCORE_CASHIER_SECRET', 'dev-cashier-secret-change-me'),
    cashierLinkTtlMs: integer(env, 'PAYCORE_CASHIER_LINK_TTL_MS', 15 * 60_000, 10_000, 86_400_000),
    cashierSourceTimeoutMs: integer(env, 'PAYCORE_CASHIER_SOURCE_TIMEOUT_MS', 800, 10, 30_000),
  };
}

function timeZone(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: raw });
  } catch {
    throw new ConfigError(`${name} must be an IANA time zone like Asia/Shanghai, got "${raw}"`);
  }
  return raw;
}

function loadAlipayTuning(env: Env): AlipayTuning {
  return {
    timestampWindowMs: integer(env, 'PAYCORE_ALIPAY_TIMESTAMP_WINDOW_MS', 900_000, 1_000, 86_400_000),
    timeZone: timeZone(env, 'PAYCORE_ALIPAY_TIME_ZONE', 'Asia/Shanghai'),
    // Alipay's own schedule: 4m, 10m, 10m, 1h, 2h, 6h, 15h (8 tries within about 25 hours).
    notifyScheduleMs: durations(env, 'PAYCORE_ALIPAY_NOTIFY_SCHEDULE', [240_000, 600_000, 600_000, 3_600_000, 7_200_000, 21_600_000, 54_000_000], 50),
    notifyTimeoutMs: integer(env, 'PAYCORE_ALIPAY_NOTIFY_TIMEOUT_MS', 10_000, 100, 120_000),
    billUrlTtlMs: integer(env, 'PAYCORE_ALIPAY_BILL_URL_TTL_MS', 30_000, 1_000, 3_600_000),
  };
}

function loadChannelTuning(env: Env): ChannelTuning {
  const callback = env.PAYCORE_CHANNEL_CALLBACK_URL;
  return {
    callbackBaseUrl: callback ? httpUrl(env, 'PAYCORE_CHANNEL_CALLBACK_URL', callback) : undefined,
    callTimeoutMs: integer(env, 'PAYCORE_CHANNEL_CALL_TIMEOUT_MS', 3_000, 50, 120_000),
    callbackWaitMs: integer(env, 'PAYCORE_CHANNEL_CALLBACK_WAIT_MS', 15_000, 50, 3_600_000),
    queryBackoffBaseMs: integer(env, 'PAYCORE_CHANNEL_QUERY_BACKOFF_BASE_MS', 1_000, 10, 600_000),
    queryBackoffMaxMs: integer(env, 'PAYCORE_CHANNEL_QUERY_BACKOFF_MAX_MS', 60_000, 10, 3_600_000),
    notFoundFailAfterMs: integer(env, 'PAYCORE_CHANNEL_NOT_FOUND_FAIL_AFTER_MS', 30_000, 10, 3_600_000),
    breakerWindowMs: integer(env, 'PAYCORE_CHANNEL_BREAKER_WINDOW_MS', 30_000, 100, 3_600_000),
    breakerMinCalls: integer(env, 'PAYCORE_CHANNEL_BREAKER_MIN_CALLS', 20, 1, 100_000),
    breakerThresholdPercent: integer(env, 'PAYCORE_CHANNEL_BREAKER_THRESHOLD_PERCENT', 50, 1, 100),
    breakerTimeoutsToOpen: integer(env, 'PAYCORE_CHANNEL_BREAKER_TIMEOUTS_TO_OPEN', 5, 1, 10_000),
    breakerOpenMs: integer(env, 'PAYCORE_CHANNEL_BREAKER_OPEN_MS', 10_000, 10, 3_600_000),
    breakerProbesToClose: integer(env, 'PAYCORE_CHANNEL_BREAKER_PROBES_TO_CLOSE', 3, 1, 1_000),
    workerIntervalMs: integer(env, 'PAYCORE_CHANNEL_WORKER_INTERVAL_MS', 250, 10, 60_000),
  };
}

function loadFundsTuning(env: Env): FundsTuning {
  const settlementBank = env.PAYCORE_FUNDS_SETTLEMENT_BANK || 'alpha';
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(settlementBank)) throw new ConfigError('PAYCORE_FUNDS_SETTLEMENT_BANK must be a bank name');
  return {
    glIntervalMs: integer(env, 'PAYCORE_FUNDS_GL_INTERVAL_MS', 1_000, 10, 60_000),
    glBatchMax: integer(env, 'PAYCORE_FUNDS_GL_BATCH_MAX', 500, 1, 1_000),
    glGapWaitMs: integer(env, 'PAYCORE_FUNDS_GL_GAP_WAIT_MS', 10_000, 0, 600_000),
    internalReconWindowMs: integer(env, 'PAYCORE_FUNDS_INTERNAL_RECON_WINDOW_MS', 120_000, 0, 3_600_000),
    internalReconIntervalMs: integer(env, 'PAYCORE_FUNDS_INTERNAL_RECON_INTERVAL_MS', 10_000, 10, 600_000),
    defaultFeeRateBp: integer(env, 'PAYCORE_FUNDS_DEFAULT_FEE_RATE_BP', 60, 0, 10_000),
    settlementBank,
  };
}

function loadTradeTuning(env: Env): TradeTuning {
  const settlement = env.PAYCORE_SETTLEMENT_TIME || '02:00';
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(settlement)) throw new ConfigError('PAYCORE_SETTLEMENT_TIME must be HH:MM (UTC)');
  return {
    timeoutDefaultSeconds: integer(env, 'PAYCORE_TRADE_TIMEOUT_SECONDS', 900, 1, 15 * 86_400),
    escrowAutoConfirmMs: integer(env, 'PAYCORE_ESCROW_AUTO_CONFIRM_MS', 10 * 86_400_000, 1_000, 90 * 86_400_000),
    instantRefundWindowMs: integer(env, 'PAYCORE_INSTANT_REFUND_WINDOW_MS', 90 * 86_400_000, 1_000, 3_650 * 86_400_000),
    settlementTimeUtc: settlement,
    workerIntervalMs: integer(env, 'PAYCORE_TRADE_WORKER_INTERVAL_MS', 1_000, 10, 60_000),
    tryTimeoutMs: integer(env, 'PAYCORE_TCC_TRY_TIMEOUT_MS', 30_000, 100, 3_600_000),
    cardWaitMs: integer(env, 'PAYCORE_CARD_WAIT_MS', 600_000, 1_000, 86_400_000),
  };
}

/** Reads and validates the configuration; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const subsystemDatabaseUrls: Partial<Record<Subsystem, string>> = {};
  for (const name of subsystems) {
    const value = url(env, `${name.toUpperCase()}_DATABASE_URL`);
    if (value) subsystemDatabaseUrls[name] = value;
  }
  // A trade's status and its payment order change in one local transaction (see the trade core).
  const databaseOf = (name: Subsystem): string => subsystemDatabaseUrls[name] ?? env.DATABASE_URL ?? '(the main database)';
  if (databaseOf('trade') !== databaseOf('payment')) {
    throw new ConfigError('TRADE_DATABASE_URL and PAYMENT_DATABASE_URL must name the same database (trade and payment share one)');
  }
  const sandbox = (env.PAYCORE_SANDBOX ?? 'on').toLowerCase();
  if (sandbox !== 'on' && sandbox !== 'off') throw new ConfigError('PAYCORE_SANDBOX must be on or off');
  const bus = env.PAYCORE_BUS || undefined;
  if (bus !== undefined && bus !== 'db' && !bus.startsWith('nats://')) throw new ConfigError('PAYCORE_BUS must be db or nats://host:port');
  const config: Config = {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '127.0.0.1',
    databaseUrl: url(env, 'DATABASE_URL'),
    subsystemDatabaseUrls,
    dataDir: path.resolve(env.PAYCORE_DATA_DIR || 'data'),
    embeddedPgPort: integer(env, 'PAYCORE_PG_PORT', 54329, 1024, 65535),
    dbPoolMax: integer(env, 'PAYCORE_DB_POOL_MAX', 20, 1, 500),
    logLevel: env.LOG_LEVEL || 'info',
    sandbox: sandbox === 'on',
    bus: bus === 'db' ? undefined : bus,
    bodyLimitBytes: integer(env, 'PAYCORE_BODY_LIMIT_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
    // 100,000,000.00 in minor units: Alipay's own single-operation bound.
    maxAmountMinor: BigInt(integer(env, 'PAYCORE_MAX_AMOUNT_MINOR', 10_000_000_000, 1, Number.MAX_SAFE_INTEGER)),
    rateLimitPerSecond: integer(env, 'PAYCORE_RATE_LIMIT_PER_SECOND', 1000, 1, 1_000_000),
    rateLimitConcurrency: integer(env, 'PAYCORE_RATE_LIMIT_CONCURRENCY', 64, 1, 100_000),
    idempotencyLockMs: integer(env, 'PAYCORE_IDEMPOTENCY_LOCK_MS', 30_000, 100, 3_600_000),
    ledgerBatchMax: integer(env, 'PAYCORE_LEDGER_BATCH_MAX', 500, 1, 5_000),
    ledgerBatchWaitMs: integer(env, 'PAYCORE_LEDGER_BATCH_WAIT_MS', 0, 0, 100),
    ledgerFlushers: integer(env, 'PAYCORE_LEDGER_FLUSHERS', 2, 1, 64),
    ledgerFoldIntervalMs: integer(env, 'PAYCORE_LEDGER_FOLD_INTERVAL_MS', 200, 1, 60_000),
    ledgerHoldExpiryIntervalMs: integer(env, 'PAYCORE_LEDGER_HOLD_EXPIRY_INTERVAL_MS', 1_000, 10, 3_600_000),
    banks: loadBanks(env),
    channel: loadChannelTuning(env),
    eventsBuckets: integer(env, 'PAYCORE_EVENTS_BUCKETS', 16, 1, 256),
    eventsRelayIntervalMs: integer(env, 'PAYCORE_EVENTS_RELAY_INTERVAL_MS', 200, 10, 60_000),
    eventsRelayBatchMax: integer(env, 'PAYCORE_EVENTS_RELAY_BATCH_MAX', 500, 1, 10_000),
    eventsConsumerIntervalMs: integer(env, 'PAYCORE_EVENTS_CONSUMER_INTERVAL_MS', 200, 10, 60_000),
    eventsConsumerBatchMax: integer(env, 'PAYCORE_EVENTS_CONSUMER_BATCH_MAX', 100, 1, 10_000),
    eventsLeaseMs: integer(env, 'PAYCORE_EVENTS_LEASE_MS', 30_000, 500, 3_600_000),
    eventsRetryBackoffMs: durations(env, 'PAYCORE_EVENTS_RETRY_BACKOFF', [1_000, 5_000, 30_000, 120_000, 600_000], 50),
    eventsNatsStream: natsName(env, 'PAYCORE_EVENTS_NATS_STREAM', 'PAYCORE_EVENTS'),
    eventsRetentionMs: integer(env, 'PAYCORE_EVENTS_RETENTION_MS', 7 * 86_400_000, 60_000, 365 * 86_400_000),
    // API.md: retried after 15 s, 1 m, 3 m, 10 m, 20 m, 40 m, 1 h, 2 h, 3 h and 4 h.
    notifyScheduleMs: durations(env, 'PAYCORE_NOTIFY_SCHEDULE', [15_000, 60_000, 180_000, 600_000, 1_200_000, 2_400_000, 3_600_000, 7_200_000, 10_800_000, 14_400_000], 50),
    notifyTimeoutMs: integer(env, 'PAYCORE_NOTIFY_TIMEOUT_MS', 10_000, 100, 120_000),
    notifyConcurrencyPerClient: integer(env, 'PAYCORE_NOTIFY_CONCURRENCY_PER_CLIENT', 4, 1, 1_000),
    notifyBatchMax: integer(env, 'PAYCORE_NOTIFY_BATCH_MAX', 32, 1, 1_000),
    notifyIntervalMs: integer(env, 'PAYCORE_NOTIFY_INTERVAL_MS', 500, 10, 60_000),
    notifyRetentionMs: integer(env, 'PAYCORE_NOTIFY_RETENTION_MS', 30 * 86_400_000, 86_400_000, 3_650 * 86_400_000),
    notifyPrivateAddresses: onOff(env, 'PAYCORE_NOTIFY_PRIVATE_ADDRESSES', sandbox === 'on' ? 'on' : 'off'),
    memberPasswordTriesMax: integer(env, 'PAYCORE_MEMBER_PASSWORD_TRIES_MAX', 5, 1, 100),
    memberPasswordLockMs: integer(env, 'PAYCORE_MEMBER_PASSWORD_LOCK_MS', 30 * 60_000, 1_000, 7 * 86_400_000),
    memberPaymentCodeTtlMs: integer(env, 'PAYCORE_MEMBER_PAYMENT_CODE_TTL_MS', 60_000, 1_000, 3_600_000),
    marketingExpiryIntervalMs: integer(env, 'PAYCORE_MARKETING_EXPIRY_INTERVAL_MS', 5_000, 10, 3_600_000),
    // 2,000.00 / 50,000.00 / 200,000.00 CNY in minor units (API.md "Risk defaults").
    riskPasswordThresholdMinor: BigInt(integer(env, 'PAYCORE_RISK_PASSWORD_THRESHOLD_MINOR', 200_000, 0, Number.MAX_SAFE_INTEGER)),
    riskSingleLimitMinor: BigInt(integer(env, 'PAYCORE_RISK_SINGLE_LIMIT_MINOR', 5_000_000, 1, Number.MAX_SAFE_INTEGER)),
    riskDailyLimitMinor: BigInt(integer(env, 'PAYCORE_RISK_DAILY_LIMIT_MINOR', 20_000_000, 1, Number.MAX_SAFE_INTEGER)),
    alipay: loadAlipayTuning(env),
    trade: loadTradeTuning(env),
    funds: loadFundsTuning(env),
    web: loadWeb(env),
    ...overrides,
  };
  // A purged delivery must never be made again by a redelivered event: its event (and the
  // consumer's processed record) must be gone from the bus first.
  if (config.notifyRetentionMs < config.eventsRetentionMs) {
    throw new ConfigError('PAYCORE_NOTIFY_RETENTION_MS must not be shorter than PAYCORE_EVENTS_RETENTION_MS');
  }
  return config;
}
