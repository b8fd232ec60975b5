/**
 * The channels as this process sees them: rows cached from the database (refreshed often, so an
 * operator's switch in another process arrives within a second), one circuit breaker each, and
 * the bank adapter behind each bank.
 */
import type { Kysely } from 'kysely';
import type { ChannelTuning, Logger } from '../platform/index.js';
import { CircuitBreaker, type CallOutcome, type CircuitFigures } from './circuit-breaker.js';
import { route, type RouteRequest } from './channel-router.js';
import type { ChannelDB, ChannelRow } from './channel.table.js';
import type { BankAdapter } from './front/bank-adapter.js';

const refreshEveryMs = 1_000;

export interface CallObserver {
  recorded(channelCode: string, outcome: CallOutcome): void;
  answered(channelCode: string, latencyMs: number): void;
}

export class ChannelRegistry {
  private channels: ChannelRow[] = [];
  private loadedAt = 0;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private observer: CallObserver | undefined;

  constructor(
    private readonly db: Kysely<ChannelDB>,
    private readonly tuning: ChannelTuning,
    readonly adapters: ReadonlyMap<string, BankAdapter>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<void> {
    this.channels = await this.db.selectFrom('channel.channel').selectAll().orderBy('code').execute();
    this.loadedAt = this.now();
  }

  async refreshIfStale(): Promise<void> {
    if (this.now() - this.loadedAt >= refreshEveryMs) await this.load();
  }

  list(): readonly ChannelRow[] {
    return this.channels;
  }

  byId(id: string): ChannelRow | undefined {
    return this.channels.find((c) => c.id === id || c.code === id);
  }

  adapter(bank: string): BankAdapter {
    const adapter = this.adapters.get(bank);
    if (!adapter) throw new Error(`no adapter for bank ${bank}`);
    return adapter;
  }

  breaker(channelId: string): CircuitBreaker {
    let breaker = this.breakers.get(channelId);
    if (!breaker) {
      const code = this.byId(channelId)?.code ?? channelId;
      breaker = new CircuitBreaker(this.tuning, this.now, (from, to, why) => this.logger.warn({ channel: code, from, to, why }, 'channel circuit changed'));
      this.breakers.set(channelId, breaker);
    }
    return breaker;
  }

  /** Someone who wants every call's outcome and latency too (the metrics). */
  observe(observer: CallObserver): void {
    this.observer = observer;
  }

  record(channelId: string, outcome: CallOutcome): void {
    this.breaker(channelId).record(outcome);
    this.observer?.recorded(this.byId(channelId)?.code ?? channelId, outcome);
  }

  answered(channelId: string, latencyMs: number): void {
    this.breaker(channelId).answered(latencyMs);
    this.observer?.answered(this.byId(channelId)?.code ?? channelId, latencyMs);
  }

  /** Eligible channels for a request, best first. */
  route(request: RouteRequest): ChannelRow[] {
    return route(
      this.channels.map((channel) => {
        const breaker = this.breaker(channel.id);
        return { channel, allows: breaker.allows(), successRate: breaker.successRate() };
      }),
      request,
    );
  }

  figures(channelId: string): CircuitFigures {
    return this.breaker(channelId).figures();
  }

  /** The operator's switch; returns the updated row, or undefined for an unknown channel. */
  async switchChannel(idOrCode: string, on: boolean, by: string): Promise<ChannelRow | undefined> {
    await this.load();
    const channel = this.byId(idOrCode);
    if (!channel) return undefined;
    const row = await this.db
      .updateTable('channel.channel')
      .set({ enabled: on, switched_by: by, switched_at: new Date(this.now()) })
      .where('id', '=', channel.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    this.logger.warn({ channel: row.code, enabled: on, by }, 'channel switched by hand');
    await this.load();
    return row;
  }
}
