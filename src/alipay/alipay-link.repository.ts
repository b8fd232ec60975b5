/**
 * What the gateway remembers about the trades, refunds and transfers made through it: which app,
 * the request's notify_url, and Alipay's own request numbers (out_request_no per refund).
 */
import type { Kysely } from 'kysely';
import type { AlipayDB, PreOrderRow, RefundLinkRow, TradeLinkRow, TransferLinkRow } from './alipay.table.js';

export class AlipayLinkRepository {
  constructor(private readonly db: Kysely<AlipayDB>) {}

  /** Records a trade once; a repeat keeps the first row (its notify_url included). */
  async linkTrade(row: Omit<TradeLinkRow, 'created_at'>): Promise<void> {
    await this.db.insertInto('alipay.trade_link').values(row).onConflict((oc) => oc.column('trade_id').doNothing()).execute();
  }

  tradeLink(tradeId: string): Promise<TradeLinkRow | undefined> {
    return this.db.selectFrom('alipay.trade_link').selectAll().where('trade_id', '=', tradeId).executeTakeFirst();
  }

  /** The links of those of `tradeIds` made through the gateway, by trade id, in one query. */
  async tradeLinks(tradeIds: readonly string[]): Promise<Map<string, TradeLinkRow>> {
    const distinct = [...new Set(tradeIds)];
    if (distinct.length === 0) return new Map();
    const rows = await this.db.selectFrom('alipay.trade_link').selectAll().where('trade_id', 'in', distinct).execute();
    return new Map(rows.map((row) => [row.trade_id, row]));
  }

  /** True when this call recorded the refund (the first time the merchant asked for it). */
  async linkRefund(row: Omit<RefundLinkRow, 'created_at'>): Promise<boolean> {
    const inserted = await this.db.insertInto('alipay.refund_link').values(row).onConflict((oc) => oc.doNothing()).returning('refund_id').executeTakeFirst();
    return inserted !== undefined;
  }

  refundLink(tradeId: string, outRequestNo: string): Promise<RefundLinkRow | undefined> {
    return this.db.selectFrom('alipay.refund_link').selectAll().where('trade_id', '=', tradeId).where('out_request_no', '=', outRequestNo).executeTakeFirst();
  }

  refundLinkById(refundId: string): Promise<RefundLinkRow | undefined> {
    return this.db.selectFrom('alipay.refund_link').selectAll().where('refund_id', '=', refundId).executeTakeFirst();
  }

  async linkTransfer(row: Omit<TransferLinkRow, 'created_at'>): Promise<void> {
    await this.db.insertInto('alipay.transfer_link').values(row).onConflict((oc) => oc.doNothing()).execute();
  }

  /** The app's trades created in [from, to), oldest first, at most `limit`. */
  tradesBetween(appId: string, from: Date, to: Date, limit: number): Promise<TradeLinkRow[]> {
    return this.db
      .selectFrom('alipay.trade_link')
      .selectAll()
      .where('app_id', '=', appId)
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }
}

export type NewPreOrder = Omit<PreOrderRow, 'created_at' | 'status' | 'trade_id'>;

/** precreate / page.pay orders waiting for a buyer to scan. */
export class PreOrderRepository {
  constructor(private readonly db: Kysely<AlipayDB>) {}

  /** Inserts, or finds the order already under (app, out_trade_no). */
  async insertOrFind(row: NewPreOrder): Promise<PreOrderRow> {
    await this.db.insertInto('alipay.pre_order').values({ ...row, status: 'waiting', trade_id: null }).onConflict((oc) => oc.columns(['app_id', 'out_trade_no']).doNothing()).execute();
    return (await this.byOutTradeNo(row.app_id, row.out_trade_no))!;
  }

  byOutTradeNo(appId: string, outTradeNo: string): Promise<PreOrderRow | undefined> {
    return this.db.selectFrom('alipay.pre_order').selectAll().where('app_id', '=', appId).where('out_trade_no', '=', outTradeNo).executeTakeFirst();
  }

  get(id: string): Promise<PreOrderRow | undefined> {
    return this.db.selectFrom('alipay.pre_order').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Records the trade a scan created (once: compare-and-set on an empty trade_id). */
  async attachTrade(id: string, tradeId: string): Promise<void> {
    await this.db.updateTable('alipay.pre_order').set({ trade_id: tradeId }).where('id', '=', id).where('trade_id', 'is', null).execute();
  }

  /** Closes an order nobody scanned yet; false when it was scanned (or already closed). */
  async close(id: string): Promise<boolean> {
    const row = await this.db.updateTable('alipay.pre_order').set({ status: 'closed' }).where('id', '=', id).where('status', '=', 'waiting').where('trade_id', 'is', null).returning('id').executeTakeFirst();
    return row !== undefined;
  }
}
