/**
 * Configuration: read from the environment once, here, validated, and passed in. No other
 * module reads process.env. Defaults carry their unit in the name.
 */
import path from 'node:path';

/** Subsystems that own a schema; each may be pointed at a database of its own. */
export const subsystems = ['access', 'ledger', 'member', 'marketing', 'trade', 'payment', 'channel', 'events', 'notify', 'funds'] as const;
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

function url(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^postgres(ql)?:\/\//.test(raw)) throw new ConfigError(`${name} must be a postgres:// URL`);
  return raw;
}

/** Reads and validates the configuration; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const subsystemDatabaseUrls: Partial<Record<Subsystem, string>> = {};
  for (const name of subsystems) {
    const value = url(env, `${name.toUpperCase()}_DATABASE_URL`);
    if (value) subsystemDatabaseUrls[name] = value;
  }
  const sandbox = (env.PAYCORE_SANDBOX ?? 'on').toLowerCase();
  if (sandbox !== 'on' && sandbox !== 'off') throw new ConfigError('PAYCORE_SANDBOX must be on or off');
  const bus = env.PAYCORE_BUS || undefined;
  if (bus !== undefined && bus !== 'db' && !bus.startsWith('nats://')) throw new ConfigError('PAYCORE_BUS must be db or nats://host:port');
  return {
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
    ...overrides,
  };
}
