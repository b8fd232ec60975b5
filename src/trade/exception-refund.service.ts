/**
 * Exceptions the core handles by itself (SYSTEM.md §3, §4): money a bank took after the payment
 * attempt was given up — a duplicate payment of a trade already paid, or a payment after close —
 * goes back to the card as an exception refund, recorded on the order it concerns.
 */
import type { Kysely, Transaction } from 'kysely';
import { newId, type Clock, type Logger, type PlatformContext } from '../platform/index.js';
import type { ActivityView, ChannelOrderView, PaymentService } from '../payment/index.js';
import * as trades from './trade.repository.js';
import { beginProcessing, tradeTrx } from './trade-trx.js';
import type { StoredException, TradeDB, TradeRow } from './trade.table.js';

export interface ExceptionDeps {
  readonly db: Kysely<TradeDB>;
  readonly payment: PaymentService;
  readonly clock: Clock;
  readonly logger: Logger;
}

const batch = 50;

export class ExceptionRefunds {
  constructor(private readonly deps: ExceptionDeps) {
    deps.payment.register('trade.exception_refund', {
      begin: beginProcessing,
      confirmed: (trx, activity) => this.finish(tradeTrx(trx), activity, 'success'),
      cancelled: (trx, activity) => this.finish(tradeTrx(trx), activity, 'failed'),
    });
  }

  /** A late bank success for a cancelled attempt: record it on the order and start sending it back. */
  async latePayment(trx: Transaction<TradeDB>, activity: ActivityView, order: ChannelOrderView): Promise<void> {
    const now = this.deps.clock.now();
    const parent = await trades.lock(trx, activity.businessRef);
    if (!parent) return;
    const kind: StoredException['kind'] = parent.status === 'closed' || parent.status === 'failed' ? 'paid_after_close' : 'duplicate_payment';
    const id = newId();
    const { row } = await trades.insertOrFind(trx, trades.newOrder({
      id,
      client_id: parent.client_id,
      kind: 'exception_refund',
      status: 'processing',
      amount: order.amount,
      currency: parent.currency,
      payee_id: parent.payer_id ?? parent.payee_id,
      memo: kind,
      scene: parent.scene,
      card_id: parent.card_id,
      parent_id: parent.id,
      root_id: parent.root_id,
      payment_order_id: newId(),
      channel_order_id: order.id,
      context: JSON.stringify({ ...(parent.context as object), institution: order.bank }),
      created_at: now,
      updated_at: now,
    }));
    const exception: StoredException = { kind, amount: order.amount.toString(), action: 'refunded', payment_order_id: activity.id, order_id: row.id, at: now.toISOString() };
    await trades.recordException(trx, parent.id, exception, now);
    await trades.emitChange(trx, row, 'created');
    this.deps.logger.warn({ parent: parent.id, kind, amount: order.amount.toString() }, 'late bank payment: refunding');
    // After this transaction commits; the job pass picks it up too if this process dies first.
    setTimeout(() => void this.runPending().catch(() => undefined), 50).unref();
  }

  /** Starts the card refund of every exception refund not yet started (bounded). */
  async runPending(): Promise<number> {
    const rows = await this.deps.db
      .selectFrom('trade.trade_order')
      .selectAll()
      .where('kind', '=', 'exception_refund')
      .where('status', '=', 'processing')
      .orderBy('created_at')
      .limit(batch)
      .execute();
    let started = 0;
    for (const row of rows) {
      if (await this.deps.payment.getOrder(row.payment_order_id!)) continue;
      await this.start(row);
      started += 1;
    }
    return started;
  }

  private async start(row: TradeRow): Promise<void> {
    const plan = this.deps.payment.planCardRefund({
      clientId: row.client_id,
      tradeId: row.id,
      originalOrderId: row.channel_order_id!,
      amount: row.amount,
      currency: row.currency,
      hold: null,
      ctx: row.context as unknown as PlatformContext,
      memo: `exception refund ${row.id} (${row.memo})`,
    });
    await this.deps.payment.run(row.payment_order_id!, 'trade.exception_refund', row.id, plan);
  }

  private async finish(trx: Transaction<TradeDB>, activity: ActivityView, to: 'success' | 'failed'): Promise<void> {
    const now = this.deps.clock.now();
    const row = await trades.find(trx, activity.businessRef);
    if (!row) return;
    const moved = await trades.move(trx, row, ['processing'], to, { finished_at: now }, now);
    if (moved) await trades.emitChange(trx, moved, to === 'success' ? 'succeeded' : 'failed');
  }
}
