/**
 * Internal reconciliation, near real time, from the event stream: each paid trade (`trade.paid`,
 * `payment.reported`) is expected to have its payment, its channel order when a card paid a part
 * (a `channel.order_succeeded` seen by clearing), and balanced vouchers (the GL's copy of the
 * payment core's vouchers `payment / <payment id>[:hold|:post]`). A trade still missing one of
 * them `windowMs` after it was paid is flagged as a gap.
 */
import assert from 'node:assert/strict';
import { sql, type Insertable, type Kysely } from 'kysely';
import type { BusEvent } from '../events/index.js';
import type { Clock, Logger } from '../platform/index.js';
import type { FundsDB, TradeCheckRow, TradeCheckTable } from './funds.table.js';

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
    await this.onEvents([event], trx);
  }

  /**
   * Several events in order, in two statements at most: each trade's writes are folded first (a
   * `payment.reported` overwrites; a `trade.paid` only inserts a row not there yet).
   */
  async onEvents(events: readonly BusEvent[], trx: Kysely<FundsDB>): Promise<void> {
    const writes = new Map<string, CheckWrite>();
    for (const event of events) {
      const write = checkWriteOf(event);
      if (!write) continue;
      const earlier = writes.get(write.row.trade_id);
      if (write.upsert || !earlier) writes.set(write.row.trade_id, write);
    }
    const inserts = [...writes.values()].filter((w) => !w.upsert).map((w) => w.row);
    const upserts = [...writes.values()].filter((w) => w.upsert).map((w) => w.row);
    if (inserts.length > 0) await trx.insertInto('funds.trade_check').values(inserts).onConflict((oc) => oc.column('trade_id').doNothing()).execute();
    if (upserts.length > 0) {
      await trx
        .insertInto('funds.trade_check')
        .values(upserts)
        .onConflict((oc) =>
          oc.column('trade_id').doUpdateSet((eb) => ({
            payment_id: eb.ref('excluded.payment_id'),
            trade_type: eb.ref('excluded.trade_type'),
            client_id: eb.ref('excluded.client_id'),
            seller_id: eb.ref('excluded.seller_id'),
            buyer_id: eb.ref('excluded.buyer_id'),
            amount: eb.ref('excluded.amount'),
            card_amount: eb.ref('excluded.card_amount'),
            bank: eb.ref('excluded.bank'),
            currency: eb.ref('excluded.currency'),
            paid_at: eb.ref('excluded.paid_at'),
            checked_at: eb.ref('excluded.checked_at'),
            flagged_at: eb.ref('excluded.flagged_at'),
          })),
        )
        .execute();
    }
  }

  /**
   * What each trade still lacks, from the funds side's own copies (GL vouchers, clearing items):
   * one query for the whole batch.
   */
  private async missingOf(rows: readonly TradeCheckRow[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const paid = rows.filter((row) => row.payment_id !== null);
    for (const row of rows) if (!row.payment_id) out.set(row.trade_id, ['payment']);
    if (paid.length === 0) return out;
    const found = await sql<{ trade_id: string; n: number; unbalanced: number; credited: bigint; cleared: boolean }>`
      select t.trade_id,
        (select count(distinct v.voucher_id) from funds.gl_voucher v where v.source = 'payment' and v.reference in (t.p, t.p || ':hold', t.p || ':post'))::int as n,
        (select count(distinct v.voucher_id) filter (where not v.balanced) from funds.gl_voucher v
          where v.source = 'payment' and v.reference in (t.p, t.p || ':hold', t.p || ':post'))::int as unbalanced,
        coalesce((select sum(g.amount) from funds.gl_posting g join funds.gl_voucher w on w.voucher_id = g.voucher_id
          where w.source = 'payment' and w.reference in (t.p, t.p || ':hold', t.p || ':post') and g.amount > 0), 0)::int8 as credited,
        t.card_amount = 0 or exists (select 1 from funds.clearing_item c
          where c.instruction_id = t.p and c.service = 'pay' and c.amount = t.card_amount) as cleared
      from unnest(${paid.map((row) => row.trade_id)}::text[], ${paid.map((row) => row.payment_id!)}::text[], ${paid.map((row) => row.card_amount.toString())}::int8[])
        as t(trade_id, p, card_amount)`.execute(this.db);
    for (const v of found.rows) {
      const missing: string[] = [];
      if (v.n === 0) missing.push('vouchers');
      else if (v.unbalanced > 0) missing.push('unbalanced_voucher');
      else if (BigInt(v.credited) < rows.find((row) => row.trade_id === v.trade_id)!.amount) missing.push('voucher_amount');
      if (!v.cleared) missing.push('channel_order');
      out.set(v.trade_id, missing);
    }
    return out;
  }

  /**
   * One bounded pass over the open checks and the flagged gaps; returns true when the batch was
   * full. A gap is re-checked once per window: a piece that arrives late (a slow consumer, a
   * corrected voucher) turns it to ok, and flagged_at keeps the record that it was late. Three
   * statements a pass: the batch, what it lacks, and its new states (compare-and-set on status).
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
    if (rows.length === 0) return false;
    const missingByTrade = await this.missingOf(rows);
    const outcomes = rows.map((row) => {
      const missing = missingByTrade.get(row.trade_id);
      assert.ok(missing, 'every checked trade has an answer');
      const overdue = now.getTime() - row.paid_at.getTime() >= this.options.windowMs;
      const status = missing.length === 0 ? 'ok' : overdue ? 'gap' : 'open';
      return { row, missing, status, newlyFlagged: status === 'gap' && row.status !== 'gap' };
    });
    // Codes are fixed identifiers without commas, so a comma-joined list carries each row's array.
    const updated = await sql<{ trade_id: string }>`update funds.trade_check c
         set status = v.status, missing = string_to_array(v.missing, ','), checked_at = ${now},
             flagged_at = case when v.flag then ${now} else c.flagged_at end
        from unnest(${outcomes.map((o) => o.row.trade_id)}::text[], ${outcomes.map((o) => o.row.status)}::text[], ${outcomes.map((o) => o.status)}::text[],
                    ${outcomes.map((o) => o.missing.join(','))}::text[], ${outcomes.map((o) => o.newlyFlagged)}::bool[]) as v(trade_id, old_status, status, missing, flag)
       where c.trade_id = v.trade_id and c.status = v.old_status
      returning c.trade_id`.execute(this.db);
    const moved = new Set(updated.rows.map((row) => row.trade_id));
    for (const { row, missing, status, newlyFlagged } of outcomes) {
      if (!moved.has(row.trade_id)) continue;
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

/** A trade check row an event writes: upserted (the payment report) or inserted if absent (trade.paid). */
interface CheckWrite {
  readonly upsert: boolean;
  readonly row: Insertable<TradeCheckTable>;
}

function checkWriteOf(event: BusEvent): CheckWrite | undefined {
  const payload = event.payload as Obj;
  if (event.type === 'payment.reported') {
    const trade = payload.trade as Obj;
    const payment = payload.payment as Obj;
    const methods = (payment.methods as Obj[]) ?? [];
    const card = methods.find((m) => m.tool === 'card');
    return {
      upsert: true,
      row: {
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
      },
    };
  }
  // trade.paid: the client-visible trade; it alone proves a payment must exist.
  const object = (payload.object ?? {}) as Obj;
  if (typeof object.id !== 'string' || typeof object.amount !== 'number') return undefined;
  return {
    upsert: false,
    row: {
      trade_id: object.id,
      payment_id: null,
      trade_type: typeof object.type === 'string' ? object.type : null,
      client_id: typeof payload.client_id === 'string' ? payload.client_id : null,
      seller_id: typeof object.seller_id === 'string' ? object.seller_id : null,
      buyer_id: typeof object.buyer_id === 'string' ? object.buyer_id : null,
      amount: BigInt(object.amount),
      card_amount: 0n,
      bank: null,
      currency: typeof object.currency === 'string' ? object.currency : 'CNY',
      paid_at: new Date(event.occurredAt),
      checked_at: null,
      flagged_at: null,
    },
  };
}
