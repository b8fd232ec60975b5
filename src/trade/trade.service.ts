/**
 * Instant and escrow trades: create (unique by out_trade_no, replay or conflict), pay through the
 * payment core, confirm (escrow), close, and the jobs that close unpaid trades and auto-confirm
 * escrow. Every status change is a compare-and-set and emits its event in the same transaction.
 */
import { strict as assert } from 'node:assert';
import type { Kysely, Transaction } from 'kysely';
import { emitPaymentReported, paymentReportPayload, paymentReportedTopic, type PaymentReport } from '../events/index.js';
import { AppError, newId, type Clock, type Logger, type PlatformContext } from '../platform/index.js';
import { allocate, type ActivityView, type MethodInput, type PaymentService, type PhaseInfo, type PlanEntry } from '../payment/index.js';
import type { ExceptionRefunds } from './exception-refund.service.js';
import type { MemberCache } from './member-cache.js';
import { tradeTrx } from './trade-trx.js';
import { refusalError } from './trade.errors.js';
import * as trades from './trade.repository.js';
import { requestHash, splitsOf, storeSplits, type Split } from './trade.js';
import type { TradeDB, TradeRow } from './trade.table.js';

export interface TradeOptions {
  readonly timeoutDefaultSeconds: number;
  readonly escrowAutoConfirmMs: number;
  /** T+1 withdrawals are paid out at this time (UTC, HH:MM) of the next day. */
  readonly settlementTimeUtc: string;
  readonly workerIntervalMs: number;
}

export const defaultTradeOptions: TradeOptions = { timeoutDefaultSeconds: 900, escrowAutoConfirmMs: 10 * 86_400_000, settlementTimeUtc: '02:00', workerIntervalMs: 1_000 };

export interface TradeDeps {
  readonly db: Kysely<TradeDB>;
  readonly payment: PaymentService;
  readonly members: MemberCache;
  readonly exceptions: ExceptionRefunds;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: TradeOptions;
}

export interface CreateTradeInput {
  readonly type: 'instant' | 'escrow';
  readonly outTradeNo: string;
  readonly buyerId: string;
  readonly sellerId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly subject: string;
  readonly splits: readonly Split[];
  readonly timeoutSeconds?: number;
  readonly notifyUrl?: string;
  readonly scene?: string;
}

export const tradeKinds = ['instant', 'escrow'] as const;

/** How long, and how many, trades created here are kept for a pay that follows (see TradeService.justCreated). */
const justCreatedTtlMs = 2_000;
const justCreatedMax = 10_000;


export class TradeService {
  /** Rows of payments running in this process, so the hot path reads each trade once (a cache, never the truth: misses read the row). */
  private readonly inflight = new Map<string, TradeRow>();
  /**
   * Trades this process created a moment ago, taken once by a pay that follows at once (create
   * then pay), so it does not read back the row it just wrote. A copy gone stale meanwhile (paid
   * or closed by another process) is harmless: every move is a compare-and-set (the one-phase
   * path on the row's version, the others on its status), so that pay is refused as not payable.
   */
  private readonly justCreated = new Map<string, { readonly row: TradeRow; readonly atMs: number }>();

  constructor(private readonly deps: TradeDeps) {
    deps.payment.register('trade.pay', {
      begin: (trx, activity, info) => this.payBegin(tradeTrx(trx), activity, info.onePhase),
      onePhase: (trx, activity) => this.payOnePhase(tradeTrx(trx), activity),
      confirmed: (trx, activity, info) => this.payConfirmed(tradeTrx(trx), activity, info),
      cancelled: (trx, activity, reason) => this.payCancelled(tradeTrx(trx), activity, reason),
      // The card paid after the attempt was given up: the money goes back (exception refund).
      lateChannelSuccess: (trx, activity, order) => deps.exceptions.latePayment(tradeTrx(trx), activity, order),
    });
    deps.payment.register('trade.escrow_release', {
      begin: (trx, activity) => this.releaseBegin(tradeTrx(trx), activity),
      confirmed: async (trx, activity) => {
        const row = await trades.find(tradeTrx(trx), activity.businessRef);
        if (row) await trades.emitChange(tradeTrx(trx), row, 'finished');
      },
      cancelled: async () => assert.fail('an escrow release has no try to cancel'),
    });
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  async create(ctx: PlatformContext, clientId: string, input: CreateTradeInput): Promise<{ row: TradeRow; created: boolean }> {
    await this.checkParties(clientId, input);
    const timeoutSeconds = input.timeoutSeconds ?? this.deps.options.timeoutDefaultSeconds;
    const hash = requestHash({
      type: input.type,
      buyer: input.buyerId,
      seller: input.sellerId,
      amount: input.amount,
      currency: input.currency,
      subject: input.subject,
      splits: storeSplits(input.splits),
      timeout: input.timeoutSeconds ?? null,
      notify: input.notifyUrl ?? null,
      scene: input.scene ?? null,
    });
    const id = newId();
    const now = this.now();
    const context: PlatformContext = { ...ctx, client: clientId, merchant: input.sellerId, tradeType: input.type, ...(input.scene ? { scene: input.scene } : {}) };
    const order = trades.newOrder({
      id,
      client_id: clientId,
      kind: input.type,
      out_no_space: 'trade',
      out_no: input.outTradeNo,
      request_hash: hash,
      status: 'wait_pay',
      amount: input.amount,
      currency: input.currency,
      payer_id: input.buyerId,
      payee_id: input.sellerId,
      splits: storeSplits(input.splits),
      subject: input.subject,
      scene: input.scene ?? null,
      notify_url: input.notifyUrl ?? null,
      root_id: id,
      context: JSON.stringify(context),
      timeout_at: new Date(now.getTime() + timeoutSeconds * 1_000),
      created_at: now,
      updated_at: now,
    });
    const row: TradeRow = { ...order, paid_amount: 0n, refunded_amount: 0n, splits: JSON.parse(order.splits), exceptions: [], context: { ...context } };
    // One statement writes the trade and its event, atomically, with no transaction round trips.
    const result = (await trades.insertWithEvents(this.deps.db, order, [trades.changeRow(row, 'created')]))
      ? { row, created: true }
      : { row: (await trades.findByOutNo(this.deps.db, clientId, 'trade', input.outTradeNo))!, created: false };
    if (!result.created && result.row.request_hash !== hash) throw new AppError('OUT_TRADE_NO_CONFLICT', { out_trade_no: input.outTradeNo, trade_id: result.row.id });
    if (result.created) this.rememberCreated(row);
    return result;
  }

  private rememberCreated(row: TradeRow): void {
    // Bounded: the oldest goes first (a Map iterates in insertion order).
    if (this.justCreated.size >= justCreatedMax) this.justCreated.delete(this.justCreated.keys().next().value!);
    this.justCreated.set(row.id, { row, atMs: Date.now() });
  }

  /** The row create() wrote, if this process created the trade within justCreatedTtlMs (once). */
  private takeCreated(clientId: string, id: string): TradeRow | undefined {
    const entry = this.justCreated.get(id);
    if (!entry) return undefined;
    this.justCreated.delete(id);
    return entry.row.client_id === clientId && Date.now() - entry.atMs < justCreatedTtlMs ? entry.row : undefined;
  }

  /** Buyer, seller and split receivers are members of the client; splits leave the seller something. */
  private async checkParties(clientId: string, input: CreateTradeInput): Promise<void> {
    if (input.buyerId === input.sellerId) throw new AppError('INVALID_REQUEST', { buyer_id: 'must differ from seller_id' });
    const total = input.splits.reduce((sum, s) => sum + s.amount, 0n);
    const receivers = new Set(input.splits.map((s) => s.memberId));
    if (total >= input.amount || receivers.size !== input.splits.length || receivers.has(input.sellerId)) {
      throw new AppError('INVALID_SPLITS', { splits: 'receivers are distinct from each other and the seller, and their sum is below amount' });
    }
    for (const memberId of [input.buyerId, input.sellerId, ...receivers]) {
      if (!(await this.deps.members.get(clientId, memberId))) throw new AppError('NOT_FOUND', { member_id: memberId });
    }
  }

  get(clientId: string, id: string): Promise<TradeRow | undefined> {
    return trades.findForClient(this.deps.db, clientId, id, tradeKinds);
  }

  async byOutTradeNo(clientId: string, outTradeNo: string): Promise<TradeRow | undefined> {
    return trades.findByOutNo(this.deps.db, clientId, 'trade', outTradeNo);
  }

  private async mustGet(clientId: string, id: string): Promise<TradeRow> {
    const row = await this.get(clientId, id);
    if (!row) throw new AppError('NOT_FOUND');
    return row;
  }

  /** Where a trade's money goes when paid: escrow holds it all; an instant trade pays splits and the seller the rest. */
  private async payeesOf(row: TradeRow): Promise<PlanEntry[]> {
    if (row.kind === 'escrow') return [{ account: await this.deps.payment.accounts.escrow(row.currency), amount: row.amount }];
    return this.finalPayees(row, row.amount);
  }

  /** Seller and split receivers for `amount`: splits first, the seller the rest. */
  private async finalPayees(row: TradeRow, amount: bigint): Promise<PlanEntry[]> {
    const entries: PlanEntry[] = [];
    for (const split of splitsOf(row)) entries.push({ account: (await this.deps.members.getById(split.memberId))!.accountId, amount: split.amount });
    const [paid] = allocate(entries, amount);
    const splitTotal = paid.reduce((sum, e) => sum + e.amount, 0n);
    const seller = (await this.deps.members.getById(row.payee_id!))!;
    return [...(amount > splitTotal ? [{ account: seller.accountId, amount: amount - splitTotal }] : []), ...paid];
  }

  /** Pays a trade with the buyer's methods; card payments may come back `paying`. */
  async pay(ctx: PlatformContext, clientId: string, id: string, input: { methods: readonly MethodInput[]; password?: string }): Promise<TradeRow> {
    const row = this.takeCreated(clientId, id) ?? (await this.mustGet(clientId, id));
    if (row.status !== 'wait_pay') throw new AppError('TRADE_NOT_PAYABLE', { status: row.status });
    if (row.timeout_at && row.timeout_at <= this.now()) {
      await this.close(row, 'timeout');
      throw new AppError('TRADE_NOT_PAYABLE', { status: 'closed' });
    }
    const buyer = (await this.deps.members.getById(row.payer_id!))!;
    const { payment } = this.deps;
    const parts = await payment.resolveMethods({ clientId, payer: buyer, amount: row.amount, currency: row.currency, methods: input.methods });
    if (!Array.isArray(parts)) throw refusalError(parts);
    const risky = parts.map((p) => ({ riskTool: p.riskTool, amount: p.amount }));
    // The password threshold applies to the whole payment too, not only to each tool's part.
    if (parts.length > 1) risky.push({ riskTool: 'balance', amount: row.amount });
    const denied = await payment.authorize({ clientId, memberId: buyer.id, parts: risky, password: input.password });
    if (denied) throw refusalError(denied);
    const plan = await payment.planTradePay({ clientId, tradeId: row.id, payer: buyer, payees: await this.payeesOf(row), amount: row.amount, currency: row.currency, parts, ctx: { ...(row.context as unknown as PlatformContext), traceId: ctx.traceId } });
    const paymentId = newId();
    // Counted toward the daily limits from before the try, so a payment in flight counts; one that does not happen gives it back.
    const warn = (error: unknown) => this.deps.logger.warn({ err: error, payment: paymentId }, 'risk usage not recorded or released');
    const counted = await payment.recordRisk(buyer.id, risky.slice(0, parts.length), paymentId).catch((error: unknown) => (warn(error), true));
    this.inflight.set(paymentId, row);
    let result;
    let done: TradeRow | undefined;
    try {
      result = await payment.run(paymentId, 'trade.pay', row.id, plan);
    } finally {
      this.inflight.delete(paymentId);
      done = this.paidRows.get(paymentId);
      this.paidRows.delete(paymentId);
    }
    if (result.status === 'refused') {
      // Nothing was paid: the trade is as it was (or another attempt won the compare-and-set).
      if (counted) await payment.releaseRisk(paymentId).catch(warn);
      throw refusalError(result.refusal);
    }
    if (result.status === 'confirmed' && done) return done;
    return (await trades.find(this.deps.db, row.id))!;
  }

  /** The trade as its one-phase payment left it (for the answer, without reading it again). */
  private readonly paidRows = new Map<string, TradeRow>();

  private async payBegin(trx: Transaction<TradeDB>, activity: ActivityView, onePhase: boolean) {
    const now = this.now();
    const row = this.inflight.get(activity.id) ?? (await trades.find(trx, activity.businessRef));
    assert(row);
    // One local transaction: straight to success (its events are written in payConfirmed).
    const moved = onePhase
      ? await trades.move(trx, row, ['wait_pay'], 'success', this.paidChanges(row, activity.id, now), now)
      : await trades.move(trx, row, ['wait_pay'], 'paying', { payment_order_id: activity.id }, now);
    if (!moved) return { reason: 'not_payable' };
    if (this.inflight.has(activity.id)) this.inflight.set(activity.id, moved);
    if (!onePhase) await trades.emitChange(trx, moved, 'payment_started');
    return undefined;
  }

  /**
   * The one-phase fast path: wait_pay → success and its two events (trade.paid, payment.reported)
   * in one statement, from the row this process read (its updated_at is the version checked).
   */
  private async payOnePhase(trx: Transaction<TradeDB>, activity: ActivityView) {
    const row = this.inflight.get(activity.id);
    if (!row || row.status !== 'wait_pay') return 'unsupported' as const;
    const now = this.now();
    const changes = this.paidChanges(row, activity.id, now);
    const after: TradeRow = { ...row, ...changes, status: 'success', updated_at: now };
    const report = this.paymentReport(after, activity, undefined);
    const events = [trades.changeRow(after, 'paid'), trades.outboxRow(paymentReportedTopic, after.id, paymentReportPayload(report), after.context)];
    if (await trades.moveWithEvents(trx, row, 'success', changes, events, now)) {
      this.paidRows.set(activity.id, after);
      return undefined;
    }
    // Not the row we read: paid meanwhile (refused), or changed otherwise (the general path decides).
    const current = await trades.find(trx, row.id);
    return current?.status === 'wait_pay' ? ('unsupported' as const) : { reason: 'not_payable' };
  }

  private paymentReport(row: TradeRow, activity: ActivityView, bank: string | undefined): PaymentReport {
    const methods = activity.plan.order.methods.map((m) => ({ tool: m.tool, amount: m.amount, ...(m.tool === 'card' && bank ? { institution: bank } : {}), ...(m.reference ? { reference: m.reference } : {}) }));
    return {
      trade: { id: row.id, outTradeNo: row.out_no!, type: row.kind, clientId: row.client_id, buyerId: row.payer_id!, sellerId: row.payee_id!, amount: row.amount, currency: row.currency, status: row.status },
      payment: { id: activity.id, amount: row.amount, currency: row.currency, paidAt: row.paid_at ?? this.now(), methods },
    };
  }

  private paidChanges(row: TradeRow, paymentId: string, now: Date) {
    return {
      payment_order_id: paymentId,
      paid_amount: row.amount,
      paid_at: now,
      confirm_due_at: row.kind === 'escrow' ? new Date(now.getTime() + this.deps.options.escrowAutoConfirmMs) : null,
    };
  }

  private async payConfirmed(trx: Transaction<TradeDB>, activity: ActivityView, info: PhaseInfo): Promise<void> {
    const now = this.now();
    const { onePhase } = info;
    let row = (onePhase ? this.inflight.get(activity.id) : undefined) ?? (await trades.find(trx, activity.businessRef));
    assert(row);
    if (!onePhase) {
      assert.equal(row.payment_order_id, activity.id, 'the paying trade belongs to this activity');
      row = await trades.move(trx, row, ['paying'], 'success', this.paidChanges(row, activity.id, now), now);
      assert(row, 'a paying trade only leaves paying through its activity');
    }
    await trades.emitChange(trx, row, 'paid');
    if (onePhase && this.inflight.has(activity.id)) this.paidRows.set(activity.id, row);
    await emitPaymentReported(trx, 'trade', this.paymentReport(row, activity, info.channelOrder?.bank), row.context as unknown as PlatformContext);
  }

  private async payCancelled(trx: Transaction<TradeDB>, activity: ActivityView, reason: string): Promise<void> {
    const now = this.now();
    const row = await trades.find(trx, activity.businessRef);
    if (!row || row.payment_order_id !== activity.id) return;
    const moved = await trades.move(trx, row, ['paying'], 'wait_pay', {}, now);
    if (!moved) return;
    const { plan } = activity;
    let after = moved;
    if (plan.channel && (plan.hold || plan.tools.length > 0)) {
      // The card failed after the balance and tools were taken: they were given back (partial payment reversed).
      const reversed = plan.order.amount - plan.channel.amount;
      after = (await trades.recordException(trx, row.id, { kind: 'partial_payment', amount: reversed.toString(), action: 'reversed', payment_order_id: activity.id, at: now.toISOString() }, now)) ?? moved;
    }
    await trades.emitChange(trx, after, 'payment_failed');
    this.deps.logger.info({ trade: row.id, reason }, 'trade payment cancelled');
  }

  /** The client closes an unpaid trade. */
  async closeByClient(clientId: string, id: string): Promise<TradeRow> {
    const row = await this.mustGet(clientId, id);
    const closed = await this.close(row, 'client');
    if (!closed) {
      const now = await trades.find(this.deps.db, id);
      if (now?.status === 'closed') return now;
      throw new AppError('TRADE_NOT_CLOSABLE', { status: now?.status });
    }
    return closed;
  }

  private async close(row: TradeRow, why: 'client' | 'timeout'): Promise<TradeRow | undefined> {
    this.justCreated.delete(row.id);
    const now = this.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const closed = await trades.move(trx, row, ['wait_pay'], 'closed', { closed_at: now }, now);
      if (closed) await trades.emitChange(trx, closed, 'closed');
      if (closed) this.deps.logger.debug({ trade: row.id, why }, 'trade closed');
      return closed;
    });
  }

  /** Escrow: the buyer confirmed receipt (or the period ran out): escrow → seller and splits. */
  async confirm(clientId: string, id: string): Promise<TradeRow> {
    const row = await this.mustGet(clientId, id);
    if (row.kind !== 'escrow' || (row.status !== 'success' && row.status !== 'finished')) throw new AppError('TRADE_NOT_CONFIRMABLE', { status: row.status, type: row.kind });
    if (row.status === 'success') await this.release(row);
    return (await trades.find(this.deps.db, id))!;
  }

  private async release(initial: TradeRow): Promise<void> {
    let row = initial;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const remaining = row.paid_amount - row.refunded_amount;
      if (remaining === 0n) {
        // Everything still in escrow is promised to refunds in flight: nothing to release.
        await this.deps.db.transaction().execute(async (trx) => {
          const now = this.now();
          const moved = await trades.move(trx, row, ['success'], 'finished', { finished_at: now }, now);
          if (moved) await trades.emitChange(trx, moved, 'finished');
        });
        return;
      }
      const escrow = await this.deps.payment.accounts.escrow(row.currency);
      const entries = [{ account: escrow, amount: -remaining }, ...(await this.finalPayees(row, remaining))];
      const plan = this.deps.payment.planPost({ clientId: row.client_id, tradeId: row.id, kind: 'transfer', entries, amount: remaining, currency: row.currency, ctx: row.context as unknown as PlatformContext, memo: `escrow release ${row.id}` });
      const result = await this.deps.payment.run(newId(), 'trade.escrow_release', row.id, plan);
      if (result.status !== 'refused') return;
      if (result.refusal.reason !== 'changed') throw refusalError(result.refusal);
      row = (await trades.find(this.deps.db, row.id))!;
      if (row.status !== 'success') return;
    }
    throw new AppError('TRADE_CHANGED');
  }

  private async releaseBegin(trx: Transaction<TradeDB>, activity: ActivityView) {
    const now = this.now();
    const row = await trades.lock(trx, activity.businessRef);
    assert(row);
    if (row.status !== 'success') return { reason: 'not_confirmable' };
    // A refund still in flight may fail and give its share back to escrow, after the release has
    // paid out the rest: the trade would then be finished with money left in escrow. Release once
    // every refund has settled (the job tries again; a buyer's confirm is answered 409).
    if (await trades.hasRefundInFlight(trx, row.id)) return { reason: 'refund_in_flight' };
    // A refund was reserved since the plan was made: plan again (escrow holds only what is left).
    if (row.paid_amount - row.refunded_amount !== activity.plan.order.amount) return { reason: 'changed' };
    const moved = await trades.move(trx, row, ['success'], 'finished', { finished_at: now }, now);
    assert(moved);
    return undefined;
  }

  /** One pass of the trade jobs: close unpaid trades past their timeout, auto-confirm escrow. */
  async runJobs(now: Date = this.now(), limit = 100): Promise<number> {
    let done = 0;
    for (const row of await trades.expiredUnpaid(this.deps.db, now, limit)) if (await this.close(row, 'timeout')) done += 1;
    for (const row of await trades.escrowDue(this.deps.db, now, limit)) {
      try {
        await this.release(row);
        done += 1;
      } catch (error) {
        const waiting = error instanceof AppError && (error.details as { reason?: string } | undefined)?.reason === 'refund_in_flight';
        if (waiting) this.deps.logger.debug({ trade: row.id }, 'escrow auto-confirm waits for a refund in flight');
        else this.deps.logger.warn({ err: error, trade: row.id }, 'escrow auto-confirm failed; retried');
      }
    }
    return done;
  }
}
