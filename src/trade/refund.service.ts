/**
 * Refunds of trades and recharges: partial and repeated, their sum never above what was paid —
 * the parent row is locked while the refund is reserved (refunded_amount only grows under a
 * check, and a table constraint says the same), so concurrent requests cannot overshoot.
 * The money goes back the way it came (card, balance, marketing tools) through the payment core.
 */
import { strict as assert } from 'node:assert';
import type { Kysely, Transaction } from 'kysely';
import { AppError, newId, type Clock, type Logger, type PlatformContext } from '../platform/index.js';
import type { ActivityView, PaymentService, Plan } from '../payment/index.js';
import { refundWindowEnded } from './instant-finish.job.js';
import type { MemberCache } from './member-cache.js';
import { refusalError } from './trade.errors.js';
import * as trades from './trade.repository.js';
import { beginProcessing, tradeTrx } from './trade-trx.js';
import { receiversOf, refundShares } from './refund-shares.js';
import { requestHash, splitsOf, storeSplits, type Split } from './trade.js';
import type { TradeDB, TradeKind, TradeRow } from './trade.table.js';

export interface RefundDeps {
  readonly db: Kysely<TradeDB>;
  readonly payment: PaymentService;
  readonly members: MemberCache;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a paid instant trade stays refundable (PAYCORE_INSTANT_REFUND_WINDOW_MS). */
  readonly instantRefundWindowMs: number;
}

export interface RefundInput {
  readonly outRefundNo: string;
  readonly amount: bigint;
  readonly reason?: string;
}

/** A reservation that never got its activity (the process died in between) is failed after this long. */
const orphanAfterMs = 60_000;
const batch = 100;

export class RefundService {
  constructor(private readonly deps: RefundDeps) {
    deps.payment.register('trade.refund', {
      begin: beginProcessing,
      confirmed: (trx, activity) => this.succeeded(tradeTrx(trx), activity),
      cancelled: async (trx, activity) => {
        await this.fail(tradeTrx(trx), activity.businessRef);
      },
    });
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  get(clientId: string, id: string): Promise<TradeRow | undefined> {
    return trades.findForClient(this.deps.db, clientId, id, ['refund', 'recharge_refund', 'exception_refund']);
  }

  /** Refunds (part of) a paid trade or a recharge; the same out_refund_no again returns the first refund. */
  async refund(ctx: PlatformContext, clientId: string, parentId: string, input: RefundInput, parentKinds: readonly TradeKind[]): Promise<{ row: TradeRow; created: boolean }> {
    const parent = await trades.findForClient(this.deps.db, clientId, parentId, parentKinds);
    if (!parent) throw new AppError('NOT_FOUND');
    const hash = requestHash({ parent: parentId, amount: input.amount, reason: input.reason ?? null });
    const existing = await trades.findByOutNo(this.deps.db, clientId, 'refund', input.outRefundNo);
    if (existing) return { row: this.replay(existing, hash, input.outRefundNo), created: false };
    const reserved = await this.reserve(ctx, parent, input, hash);
    if (!reserved.created) return { row: this.replay(reserved.row, hash, input.outRefundNo), created: false };
    const plan = await this.plan(reserved.parent, reserved.row, reserved.refundedBefore);
    const result = await this.deps.payment.run(reserved.row.payment_order_id!, 'trade.refund', reserved.row.id, plan);
    if (result.status === 'refused') {
      await this.deps.db.transaction().execute((trx) => this.fail(trx, reserved.row.id));
      throw refusalError(result.refusal);
    }
    return { row: (await trades.find(this.deps.db, reserved.row.id))!, created: true };
  }

  private replay(row: TradeRow, hash: string, outRefundNo: string): TradeRow {
    if (row.request_hash !== hash) throw new AppError('OUT_REFUND_NO_CONFLICT', { out_refund_no: outRefundNo, refund_id: row.id });
    return row;
  }

  /** Locks the parent, checks what is left to refund, and records the refund as processing. */
  private async reserve(ctx: PlatformContext, parent: TradeRow, input: RefundInput, hash: string) {
    const now = this.now();
    const id = newId();
    return this.deps.db.transaction().execute(async (trx) => {
      const locked = await trades.lock(trx, parent.id);
      assert(locked);
      if (locked.status !== 'success' && locked.status !== 'finished') throw new AppError('TRADE_NOT_REFUNDABLE', { status: locked.status });
      // An instant trade is refundable within its window only; a finished escrow trade (released) still is, from its receivers.
      if (refundWindowEnded(locked, now, this.deps.instantRefundWindowMs)) throw new AppError('TRADE_NOT_REFUNDABLE', { status: locked.status, reason: 'refund_window_ended' });
      const after = await trades.addRefunded(trx, locked.id, input.amount, now);
      if (!after) throw new AppError('REFUND_EXCEEDS_PAID', { refundable: Number(locked.paid_amount - locked.refunded_amount) });
      const givers = await this.giversOf(trx, locked, input.amount);
      const found = await trades.insertOrFind(trx, trades.newOrder({
        id,
        client_id: parent.client_id,
        kind: parent.kind === 'recharge' ? 'recharge_refund' : 'refund',
        out_no_space: 'refund',
        out_no: input.outRefundNo,
        request_hash: hash,
        status: 'processing',
        amount: input.amount,
        currency: parent.currency,
        payer_id: parent.kind === 'recharge' ? parent.payee_id : parent.payee_id,
        payee_id: parent.kind === 'recharge' ? null : parent.payer_id,
        memo: input.reason ?? null,
        scene: parent.scene,
        notify_url: parent.notify_url,
        card_id: parent.card_id,
        // Who gives this refund back (seller and split receivers); none: escrow (or a recharge's member).
        splits: storeSplits(givers),
        parent_id: parent.id,
        root_id: parent.root_id,
        payment_order_id: newId(),
        context: JSON.stringify({ ...(parent.context as object), traceId: ctx.traceId }),
        created_at: now,
        updated_at: now,
      }));
      if (!found.created) {
        // Another request took this out_refund_no first: undo our reservation, replay theirs.
        await trades.subtractRefunded(trx, locked.id, input.amount, now);
        return { row: found.row, parent: locked, refundedBefore: 0n, created: false };
      }
      await trades.emitChange(trx, found.row, 'created');
      return { row: found.row, parent: locked, refundedBefore: after.refunded_amount - input.amount, created: true };
    });
  }

  /** Where the money comes from and goes back to. */
  private async plan(parent: TradeRow, refund: TradeRow, refundedBefore: bigint): Promise<Plan> {
    const { payment } = this.deps;
    const original = await payment.getOrder(parent.payment_order_id!);
    assert(original, `paid ${parent.kind} ${parent.id} has its payment order`);
    const ctx = refund.context as unknown as PlatformContext;
    if (parent.kind === 'recharge') {
      const member = (await this.deps.members.getById(parent.payee_id!))!;
      return payment.planCardRefund({ clientId: parent.client_id, tradeId: refund.id, originalOrderId: original.channel_order_id!, amount: refund.amount, currency: refund.currency, hold: { accountId: member.accountId }, ctx, memo: `recharge refund ${refund.id}` });
    }
    // Escrow still holding the money refunds from escrow; otherwise the receivers give it back, as reserved.
    const givers = splitsOf(refund);
    const accountOf = async (memberId: string) => (await this.deps.members.getById(memberId))!.accountId;
    const sources =
      parent.kind === 'escrow' && parent.status === 'success'
        ? [{ account: await payment.accounts.escrow(parent.currency), amount: refund.amount }]
        : givers.length > 0
          ? await Promise.all(givers.map(async (g) => ({ account: await accountOf(g.memberId), amount: g.amount })))
          : [{ account: await accountOf(parent.payee_id!), amount: refund.amount }];
    const buyer = (await this.deps.members.getById(parent.payer_id!))!;
    return payment.planRefund({ clientId: parent.client_id, tradeId: refund.id, sources, buyer, original, refundedBefore, amount: refund.amount, ctx });
  }

  /**
   * Who gives back a refund of `amount` (the parent locked): nobody for a recharge or an escrow
   * still holding the money; else the seller and split receivers in proportion to what each
   * received (refund-shares.ts), after what earlier refunds (processing or done) took from each.
   */
  private async giversOf(trx: Transaction<TradeDB>, parent: TradeRow, amount: bigint): Promise<Split[]> {
    if (parent.kind === 'recharge' || (parent.kind === 'escrow' && parent.status === 'success')) return [];
    const seller = { memberId: parent.payee_id!, amount };
    const splits = splitsOf(parent);
    if (splits.length === 0) return [seller];
    const taken = new Map<string, bigint>();
    for (const earlier of await trades.children(trx, parent.id, ['refund'])) {
      if (earlier.status === 'failed') continue;
      const gave = splitsOf(earlier);
      // Refunds reserved before givers were recorded came from the seller (instant) or escrow.
      if (gave.length === 0 && parent.kind === 'instant') taken.set(parent.payee_id!, (taken.get(parent.payee_id!) ?? 0n) + earlier.amount);
      for (const g of gave) taken.set(g.memberId, (taken.get(g.memberId) ?? 0n) + g.amount);
    }
    const basis = parent.kind === 'instant' ? parent.paid_amount : await this.released(parent.id);
    const receivers = receiversOf(parent.payee_id!, splits, basis, taken);
    const left = receivers.reduce((sum, r) => sum + r.received - r.taken, 0n);
    if (receivers.some((r) => r.taken > r.received) || left < amount) {
      // Records that do not add up (orders from before this rule): the seller gives it all, as before.
      this.deps.logger.warn({ trade: parent.id }, 'refund shares do not add up; taken from the seller');
      return [seller];
    }
    return refundShares(receivers, amount)
      .map((part, i) => ({ memberId: receivers[i]!.memberId, amount: part }))
      .filter((g) => g.amount > 0n);
  }

  /** What an escrow release paid out to the seller and split receivers (0 when nothing was left to release). */
  private async released(tradeId: string): Promise<bigint> {
    const orders = await this.deps.payment.ordersOfTrade(tradeId);
    // Still processing when the ledger runs two-phase: the trade is finished at its begin, and a release never fails.
    return orders.find((o) => o.business === 'trade.escrow_release' && o.status !== 'failed')?.amount ?? 0n;
  }

  private async succeeded(trx: Transaction<TradeDB>, activity: ActivityView): Promise<void> {
    const now = this.now();
    const row = await trades.find(trx, activity.businessRef);
    assert(row);
    const moved = await trades.move(trx, row, ['processing'], 'success', { finished_at: now }, now);
    if (!moved) return;
    await trades.emitChange(trx, moved, 'succeeded');
    const parent = await trades.lock(trx, row.parent_id!);
    if (!parent || (parent.kind !== 'instant' && parent.kind !== 'escrow')) return;
    if (parent.refunded_amount !== parent.paid_amount || (await trades.hasRefundInFlight(trx, parent.id))) return;
    // Fully refunded: the trade is closed.
    const closed = await trades.move(trx, parent, ['success', 'finished'], 'closed', { closed_at: now }, now);
    if (closed) await trades.emitChange(trx, closed, 'closed');
  }

  /** processing → failed, and what it reserved is refundable again. */
  private async fail(trx: Transaction<TradeDB>, refundId: string): Promise<void> {
    const now = this.now();
    const row = await trades.find(trx, refundId);
    if (!row) return;
    const moved = await trades.move(trx, row, ['processing'], 'failed', { finished_at: now }, now);
    if (!moved) return;
    await trades.subtractRefunded(trx, row.parent_id!, row.amount, now);
    await trades.emitChange(trx, moved, 'failed');
  }

  /** Fails reservations whose process died before their activity began (no payment order). */
  async runJobs(now: Date = this.now()): Promise<number> {
    const rows = await this.deps.db
      .selectFrom('trade.trade_order')
      .selectAll()
      .where('kind', 'in', ['refund', 'recharge_refund'])
      .where('status', '=', 'processing')
      .where('created_at', '<', new Date(now.getTime() - orphanAfterMs))
      .orderBy('created_at')
      .limit(batch)
      .execute();
    let failed = 0;
    for (const row of rows) {
      if (await this.deps.payment.getOrder(row.payment_order_id!)) continue;
      await this.deps.db.transaction().execute((trx) => this.fail(trx, row.id));
      failed += 1;
    }
    return failed;
  }
}
