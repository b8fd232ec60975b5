/** Builds the channel gateway from the platform's pieces: adapters per bank, registry, processor, worker. */
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import { intervalWorker, type Config, type Logger, type Worker } from '../platform/index.js';
import { ChannelGateway } from './channel-gateway.service.js';
import { ChannelRegistry } from './channel-registry.js';
import { installChannelMetrics } from './channel.metrics.js';
import type { ChannelDB } from './channel.table.js';
import { alphaAdapter } from './front/alpha.adapter.js';
import type { BankAdapter } from './front/bank-adapter.js';
import { betaAdapter } from './front/beta.adapter.js';
import { OrderProcessor } from './order-processor.js';

export interface ChannelDeps {
  readonly db: Kysely<ChannelDB>;
  readonly config: Config;
  readonly logger: Logger;
  /** Where the channels' figures are exported (/metrics). */
  readonly metrics?: Registry;
}

export interface ChannelSubsystem {
  readonly gateway: ChannelGateway;
  readonly worker: Worker;
  /** Loads the channels; call once before traffic (the worker also refreshes them). */
  init(): Promise<void>;
}

/** Where banks call us back: the configured URL, else this server's own address. */
export function callbackBaseUrl(config: Config): string {
  if (config.channel.callbackBaseUrl) return config.channel.callbackBaseUrl;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host}:${config.port}`;
}

export function createChannelSubsystem(deps: ChannelDeps): ChannelSubsystem {
  const { config } = deps;
  const logger = deps.logger.child({ subsystem: 'channel' });
  const timeoutMs = config.channel.callTimeoutMs;
  const adapters = new Map<string, BankAdapter>([
    ['alpha', alphaAdapter({ baseUrl: config.banks.alpha.url, secret: config.banks.alpha.secret, timeoutMs })],
    ['beta', betaAdapter({ baseUrl: config.banks.beta.url, secret: config.banks.beta.secret, timeoutMs })],
  ]);
  const registry = new ChannelRegistry(deps.db, config.channel, adapters, logger);
  if (deps.metrics) installChannelMetrics(deps.metrics, registry);
  const processor = new OrderProcessor(deps.db, registry, config.channel, () => callbackBaseUrl(config), logger);
  const gateway = new ChannelGateway(deps.db, registry, processor, config.maxAmountMinor, config.banks.cardHashKey, logger);
  const worker = intervalWorker('channel-orders', config.channel.workerIntervalMs, logger, () => processor.step());
  return { gateway, worker, init: () => registry.load() };
}
