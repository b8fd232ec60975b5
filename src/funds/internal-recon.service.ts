/**
 * Internal reconciliation, near real time, from the event stream: each paid trade (`trade.paid`,
 * `payment.reported`) is expected to have its payment, its channel order when a card paid a part
 * (a `channel.order_succeeded` seen by clearing), and balanced vouchers (the GL's copy of the
 * payment core's vouchers `payment / <payment id>[:hold|:post]`). A trade still missing one of
 * them `windowMs` after it was paid is flagged as a gap.
 */
import { sql, type Kysely } from 'kysely';
import type { BusEvent } from '../events/index.js';
import type { Clock, Logger } from '../platform/index.js';
import type { FundsDB, TradeCheckRow } from './funds.table.js';

export interface InternalReconOptions {
  readonly windowMs: number;
  readonly batchMax: number;
}

type Obj = Record<string, unknown>;

export class InternalRecon {
  constructor(
    private readonly db: Kysely<FundsDB>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: InternalReconOptions,
  ) {}

  /** The consumer's handler (topics trade.paid and payment.reported), inside its transaction. */
  async onEvent(event: BusEvent, trx: Kysely<FundsDB>): Promise<void> {
    const payload = event.payload as Obj;
    if (event.type === 'payment.reported') {
      const trade = payload.trade as Obj;
      const payment = payload.payment as Obj;
      const methods = (payment.methods as Obj[]) ?? [];
      const card = methods.find((m) => m.tool === 'card');
      const values = {
        trade_id: String(trade.id),
        payment_id: String(payment.id),
        trade_type: String(trade.type),
        client_id: String(trade.client_id),
        seller_id: String(trade.seller_id),
        buyer_id: String(trade.buyer_id),
        amount: BigInt(String(trade.amount)),
        card_amount: card ? BigInt(String(card.amount)) : 0n,
        bank: card?.institution ? String(card.institution) : null,
        currency: String(trade.currency),
        paid_at: new Date(String(payment.paid_at ?? event.occurredAt)),
        checked_at: null,
        flagged_at: null,
      };
      const { trade_id: _id, ...update } = values;
      await trx.insertInto('funds.trade_check').values(values).onConflict((oc) => oc.column('trade_id').doUpdateSet(update)).execute();
      return;
    }
    // trade.paid: the client-visible trade; it alone proves a payment must exist.
    const object = (payload.object ?? {}) as Obj;
    if (typeof object.id !== 'string' || typeof object.amount !== 'number') return;
    await trx
      .insertInto('funds.trade_check')
      .values({
        trade_id: object.id,
        payment_id: null,
        trade_type: typeof object.type === 'string' ? object.type : null,
        client_id: typeof payload.client_id === 'string' ? payload.client_id : null,
        seller_id: typeof object.seller_id === 'string' ? object.seller_id : null,
        buyer_id: typeof object.buyer_id === 'string' ? object.buyer_id : null,
        amount: BigInt(object.amount),
        bank: null,
        currency: typeof object.currency === 'string' ? object.currency : 'CNY',
        paid_at: new Date(event.occurredAt),
        checked_at: null,
        flagged_at: null,
      })
      .onConflict((oc) => oc.column('trade_id').doNothing())
      .execute();
  }

  /** What a trade still lacks, from the funds side's own copies (GL vouchers, clearing items). */
  private async missing(row: TradeCheckRow): Promise<string[]> {
    if (!row.payment_id) return ['payment'];
    const p = row.payment_id;
    const vouchers = await sql<{ n: number; unbalanced: number; credited: bigint }>`
      select count(distinct v.voucher_id)::int as n,
        count(distinct v.voucher_id) filter (where not v.balanced)::int as unbalanced,
        coalesce((select sum(g.amount) from funds.gl_posting g join funds.gl_voucher w on w.voucher_id = g.voucher_id
          where w.source = 'payment' and w.reference in (${p}, ${p + ':hold'}, ${p + ':post'}) and g.amount > 0), 0)::int8 as credited
      from funds.gl_voucher v where v.source = 'payment' and v.reference in (${p}, ${p + ':hold'}, ${p + ':post'})`.execute(this.db);
    const v = vouchers.rows[0]!;
    const out: string[] = [];
    if (v.n === 0) out.push('vouchers');
    else if (v.unbalanced > 0) out.push('unbalanced_voucher');
    else if (BigInt(v.credited) < row.amount) out.push('voucher_amount');
    if (row.card_amount > 0n) {
      const order = await this.db.selectFrom('funds.clearing_item').select('order_id').where('instruction_id', '=', p).where('service', '=', 'pay').where('amount', '=', row.card_amount).executeTakeFirst();
      if (!order) out.push('channel_order');
    }
    return out;
  }

  /**
   * One bounded pass over the open checks and the flagged gaps; returns true when the batch was
   * full. A gap is re-checked once per window: a piece that arrives late (a slow consumer, a
   * corrected voucher) turns it to ok, and flagged_at keeps the record that it was late.
   */
  async check(): Promise<boolean> {
    const now = this.clock.now();
    // A row checked a moment ago waits its turn, so a full batch of young rows cannot spin the worker.
    const recheckBefore = new Date(now.getTime() - Math.min(1_000, this.options.windowMs / 2));
    const regapBefore = new Date(now.getTime() - this.options.windowMs);
    const rows = await this.db
      .selectFrom('funds.trade_check')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'open'), eb.or([eb('checked_at', 'is', null), eb('checked_at', '<', recheckBefore)])]),
          eb.and([eb('status', '=', 'gap'), eb('checked_at', '<', regapBefore)]),
        ]),
      )
      .orderBy('paid_at')
      .limit(this.options.batchMax)
      .execute();
    for (const row of rows) {
      const missing = await this.missing(row);
      const overdue = now.getTime() - row.paid_at.getTime() >= this.options.windowMs;
      const status = missing.length === 0 ? 'ok' : overdue ? 'gap' : 'open';
      const newlyFlagged = status === 'gap' && row.status !== 'gap';
      await this.db
        .updateTable('funds.trade_check')
        .set({ status, missing, checked_at: now, ...(newlyFlagged ? { flagged_at: now } : {}) })
        .where('trade_id', '=', row.trade_id)
        .where('status', '=', row.status)
        .execute();
      if (newlyFlagged) this.logger.warn({ trade: row.trade_id, payment: row.payment_id, missing }, 'internal reconciliation gap');
      else if (row.status === 'gap' && status === 'ok') this.logger.info({ trade: row.trade_id }, 'internal reconciliation gap closed');
    }
    return rows.length === this.options.batchMax;
  }

  async gaps(limit: number): Promise<TradeCheckRow[]> {
    return this.db.selectFrom('funds.trade_check').selectAll().where('status', '=', 'gap').orderBy('flagged_at', 'desc').limit(limit).execute();
  }

  async get(tradeId: string): Promise<TradeCheckRow | undefined> {
    return this.db.selectFrom('funds.trade_check').selectAll().where('trade_id', '=', tradeId).executeTakeFirst();
  }
}
