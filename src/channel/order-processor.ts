/**
 * Moves channel orders along after they are committed: sends them to the bank (never inside a
 * transaction), applies results from replies, callbacks and queries (compare-and-set, once),
 * queries open orders on a backoff, probes half-open circuits, and tells listeners.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isId, type ChannelTuning, type Logger } from '../platform/index.js';
import { toChannelOrder, type ChannelOrder } from './channel-order.js';
import { claimDueQueries, claimUnsent, findOrder, finishOrder, markSent, markUnknown, recordAnomaly, reroute, type Finish } from './channel-order.repository.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { CardAgreementRow, ChannelDB, ChannelOrderRow } from './channel.table.js';
import type { BankCallResult, BankTxn } from './front/bank-adapter.js';

/** Told of every order that became final in this process (see ChannelGateway.onResult). */
export type ResultListener = (order: ChannelOrder) => void | Promise<void>;

/** Sends in flight per process, and how many more may wait in memory; the rest wait in the table. */
const sendsInFlightMax = 256;
const sendQueueMax = 10_000;
const queriesPerStep = 100;
const queryConcurrency = 16;
const unsentPerStep = 50;
const recentlyFinishedMax = 10_000;
const forgedRecordsPerMinute = 100;

export type ApplyOutcome = 'applied' | 'duplicate' | 'conflict' | 'pending' | 'unknown_order' | 'amount_mismatch';

export class OrderProcessor {
  private inFlight = 0;
  private readonly queue: Array<() => Promise<void>> = [];
  readonly listeners = new Set<ResultListener>();
  /** Orders this process finished lately (bounded, oldest dropped): a late reply need not mark them sent. */
  private readonly recentlyFinished = new Set<string>();
  private readonly forgedSeen = new Map<string, { minute: number; count: number }>();

  constructor(
    private readonly db: Kysely<ChannelDB>,
    private readonly registry: ChannelRegistry,
    private readonly tuning: ChannelTuning,
    private readonly callbackBaseUrl: () => string,
    private readonly logger: Logger,
  ) {}

  /** How long one process owns a fresh order's first send before the recovery worker may take it. */
  get claimMs(): number {
    return this.tuning.callTimeoutMs * 2 + 1_000;
  }

  /**
   * Queues a send. `first`: this process created the order and nobody sent it yet. A re-send by
   * the recovery worker may follow a send the bank accepted before a crash, so it never moves
   * the order to another bank. When the queue is full the recovery worker sends it later.
   */
  enqueueSend(row: ChannelOrderRow, agreement: CardAgreementRow | undefined, first: boolean): void {
    const job = () => this.send(row, agreement, first);
    if (this.inFlight < sendsInFlightMax) this.run(job);
    else if (this.queue.length < sendQueueMax) this.queue.push(job);
  }

  private run(job: () => Promise<void>): void {
    this.inFlight += 1;
    void job()
      .catch((error: unknown) => this.logger.error({ err: error }, 'channel send failed'))
      .finally(() => {
        this.inFlight -= 1;
        const next = this.queue.shift();
        if (next) this.run(next);
      });
  }

  private notifyUrl(bank: string): string {
    return `${this.callbackBaseUrl()}/callbacks/banks/${bank}`;
  }

  private async agreementOf(row: ChannelOrderRow): Promise<CardAgreementRow | undefined> {
    if (!row.agreement_id) return undefined;
    return this.db.selectFrom('channel.card_agreement').selectAll().where('id', '=', row.agreement_id).executeTakeFirst();
  }

  private call(row: ChannelOrderRow, agreement: CardAgreementRow | undefined): Promise<BankCallResult> {
    const adapter = this.registry.adapter(row.bank);
    const base = { requestId: row.id, amount: row.amount, currency: row.currency, notifyUrl: this.notifyUrl(row.bank) };
    if (row.service === 'refund') return adapter.refund({ ...base, originalRequestId: row.original_order_id! });
    if (!agreement?.agreement_no) throw new Error(`order ${row.id} has no active agreement`);
    return row.service === 'pay' ? adapter.pay({ ...base, agreementNo: agreement.agreement_no }) : adapter.payout({ ...base, agreementNo: agreement.agreement_no });
  }

  /** One send to the order's bank, and what its answer means. */
  async send(row: ChannelOrderRow, known: CardAgreementRow | undefined, first: boolean): Promise<void> {
    const agreement = known ?? (await this.agreementOf(row));
    const result = await this.call(row, agreement);
    const now = Date.now();
    switch (result.kind) {
      case 'answered': {
        this.registry.answered(row.channel_id, result.latencyMs);
        const reply = result.reply;
        if (reply.type === 'accepted') {
          // A callback may have finished it already (the bank settles fast): then nothing is left to schedule.
          if (!this.recentlyFinished.has(row.id)) await markSent(this.db, row.id, reply.txn.bankRef, new Date(now + this.tuning.callbackWaitMs));
          if (reply.txn.status !== 'processing') await this.apply(row.bank, reply.txn, 'reply', row);
        } else if (reply.type === 'rejected') {
          this.registry.record(row.channel_id, 'ok');
          await markSent(this.db, row.id, null, new Date(now));
          await this.finish(row, { status: 'failed', resultCode: reply.reason, resultMessage: 'refused by the bank', bankRef: null, resolvedBy: 'reply' });
        } else {
          await markUnknown(this.db, row.id, new Date(now + this.tuning.queryBackoffBaseMs));
        }
        return;
      }
      case 'unreachable':
        this.registry.record(row.channel_id, 'unreachable');
        if (first) return this.failOver(row, agreement, result.detail);
        await markUnknown(this.db, row.id, new Date(now + this.tuning.queryBackoffBaseMs));
        return;
      case 'timeout':
      case 'bad_reply':
        this.registry.record(row.channel_id, 'timeout');
        this.logger.warn({ order: row.id, bank: row.bank, detail: result.detail }, 'bank result unknown; will query');
        await markUnknown(this.db, row.id, new Date(now + this.tuning.queryBackoffBaseMs));
        return;
    }
  }

  /** The bank certainly never got it: a payment or payout may move to the next channel; a refund may not. */
  private async failOver(row: ChannelOrderRow, agreement: CardAgreementRow | undefined, detail: string): Promise<void> {
    const next =
      row.service !== 'refund' && agreement
        ? this.registry.route({ service: row.service, cardBin: agreement.card_bin, amount: row.amount, currency: row.currency, bank: agreement.network ? undefined : agreement.bank, exclude: [row.channel_id, ...row.rerouted_from] })[0]
        : undefined;
    if (next && (await reroute(this.db, row.id, row.channel_id, next))) {
      this.logger.warn({ order: row.id, from: row.bank, to: next.bank, detail }, 'bank unreachable; order moved to the next channel');
      const moved = await findOrder(this.db, row.id);
      if (moved) await this.send(moved, agreement, true);
      return;
    }
    await markSent(this.db, row.id, null, new Date());
    await this.finish(row, { status: 'failed', resultCode: 'CHANNEL_UNAVAILABLE', resultMessage: `bank unreachable (${detail}) and no other channel`, bankRef: null, resolvedBy: 'gateway' });
  }

  private async finish(row: ChannelOrderRow, finish: Finish, expect?: { bank: string; amount: bigint; currency: string }): Promise<ChannelOrderRow | undefined> {
    const done = await finishOrder(this.db, row.id, finish, expect);
    if (done) this.finished(done);
    return done;
  }

  private finished(done: ChannelOrderRow): void {
    this.recentlyFinished.add(done.id);
    if (this.recentlyFinished.size > recentlyFinishedMax) this.recentlyFinished.delete(this.recentlyFinished.values().next().value!);
    void this.emit(toChannelOrder(done));
  }

  private async emit(order: ChannelOrder): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(order);
      } catch (error) {
        this.logger.error({ err: error, order: order.id }, 'channel result listener failed');
      }
    }
  }

  /**
   * A callback whose signature did not verify: refused, and kept for operators — at most
   * `forgedRecordsPerMinute` rows per bank, since anyone can post to the callback URL.
   */
  async recordForged(bank: string, reason: string, raw: string): Promise<void> {
    this.logger.warn({ bank, reason }, 'forged or malformed bank callback refused');
    const minute = Math.floor(Date.now() / 60_000);
    const seen = this.forgedSeen.get(bank);
    const count = seen && seen.minute === minute ? seen.count + 1 : 1;
    this.forgedSeen.set(bank, { minute, count });
    if (count <= forgedRecordsPerMinute) await recordAnomaly(this.db, bank, null, 'forged_callback', { reason, body: raw.slice(0, 512) });
  }

  /** A bank's word on a transaction (reply, callback or query), applied at most once. */
  async apply(bank: string, txn: BankTxn, resolvedBy: Finish['resolvedBy'], known?: ChannelOrderRow): Promise<ApplyOutcome> {
    if (!isId(txn.requestId)) return this.unknownOrder(bank, txn, resolvedBy);
    const finish: Finish | undefined =
      txn.status === 'processing'
        ? undefined
        : { status: txn.status, resultCode: txn.status === 'failed' ? (txn.reason ?? 'FAILED') : null, resultMessage: txn.status === 'failed' ? 'failed at the bank' : null, bankRef: txn.bankRef, resolvedBy };
    // The common case costs one transaction: finish it, provided bank and amount agree.
    if (finish) {
      const done = await finishOrder(this.db, txn.requestId, finish, { bank, amount: txn.amount, currency: txn.currency });
      if (done) {
        assert.ok(done.status === txn.status && done.amount === txn.amount && done.bank === bank, `order ${done.id} finished unlike the bank said`);
        this.finished(done);
        this.registry.record(done.channel_id, txn.status === 'failed' && txn.reason === 'SYSTEM_ERROR' ? 'error' : 'ok');
        return 'applied';
      }
    }
    const row = known ?? (await findOrder(this.db, txn.requestId));
    if (!row || row.bank !== bank) return this.unknownOrder(bank, txn, resolvedBy);
    if (txn.amount !== row.amount || txn.currency !== row.currency) {
      this.logger.error({ order: row.id, ours: row.amount.toString(), theirs: txn.amount.toString() }, 'bank reports another amount');
      await recordAnomaly(this.db, bank, row.id, 'amount_mismatch', { ours: row.amount.toString(), theirs: txn.amount.toString(), currency: txn.currency, via: resolvedBy });
      return 'amount_mismatch';
    }
    if (!finish) return 'pending';
    const current = known ? await findOrder(this.db, row.id) : row;
    if (current && current.status !== txn.status) {
      // A late or out-of-order result never flips a final status; it is kept for reconciliation.
      this.logger.error({ order: row.id, final: current.status, reported: txn.status, via: resolvedBy }, 'bank result contradicts the final status');
      await recordAnomaly(this.db, bank, row.id, 'conflicting_result', { final: current.status, reported: txn.status, reason: txn.reason, bank_ref: txn.bankRef, via: resolvedBy });
      return 'conflict';
    }
    return 'duplicate';
  }

  private async unknownOrder(bank: string, txn: BankTxn, resolvedBy: string): Promise<ApplyOutcome> {
    await recordAnomaly(this.db, bank, null, 'unknown_order', { request_id: txn.requestId, bank_ref: txn.bankRef, status: txn.status, via: resolvedBy });
    return 'unknown_order';
  }

  /** Asks the bank about one open order. */
  async queryOne(row: ChannelOrderRow): Promise<void> {
    const result = await this.registry.adapter(row.bank).query(row.id);
    if (result.kind !== 'answered') {
      this.registry.record(row.channel_id, result.kind === 'unreachable' ? 'unreachable' : 'timeout');
      return;
    }
    this.registry.answered(row.channel_id, result.latencyMs);
    const reply = result.reply;
    if (reply.type === 'found') {
      await this.apply(row.bank, reply.txn, 'query', row);
    } else if (reply.type === 'not_found') {
      // Only after long enough may "no such request" mean it never arrived and never will.
      const sentAt = row.sent_at?.getTime() ?? row.created_at.getTime();
      if (Date.now() - sentAt >= this.tuning.notFoundFailAfterMs) await this.finish(row, { status: 'failed', resultCode: 'NOT_RECEIVED', resultMessage: 'the bank has no record of the request', bankRef: null, resolvedBy: 'query' });
    }
  }

  /** One bounded round of background work; true when there may be more to do at once. */
  async step(): Promise<boolean> {
    await this.registry.refreshIfStale();
    const unsent = await claimUnsent(this.db, unsentPerStep, this.claimMs);
    for (const row of unsent) this.enqueueSend(row, undefined, false);
    const due = await claimDueQueries(this.db, queriesPerStep, this.tuning.queryBackoffBaseMs, this.tuning.queryBackoffMaxMs);
    for (let i = 0; i < due.length; i += queryConcurrency) {
      await Promise.all(due.slice(i, i + queryConcurrency).map((row) => this.queryOne(row).catch((error: unknown) => this.logger.error({ err: error, order: row.id }, 'channel query failed'))));
    }
    await this.probe();
    return due.length === queriesPerStep || unsent.length === unsentPerStep;
  }

  /** Half-open circuits are probed with a query for a request that does not exist. */
  private async probe(): Promise<void> {
    await Promise.all(
      this.registry.list().map(async (channel) => {
        const breaker = this.registry.breaker(channel.id);
        if (!breaker.wantsProbe()) return;
        const result = await this.registry.adapter(channel.bank).query(randomUUID());
        breaker.recordProbe(result.kind === 'answered');
      }),
    );
  }
}
