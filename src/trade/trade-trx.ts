/** The trade schema inside a payment-database transaction (the two always share one database). */
import type { Transaction } from 'kysely';
import type { ActivityView, BusinessTrx } from '../payment/index.js';
import { find } from './trade.repository.js';
import type { TradeDB } from './trade.table.js';

export function tradeTrx(trx: BusinessTrx): Transaction<TradeDB> {
  return trx as unknown as Transaction<TradeDB>;
}

/**
 * The `begin` of an order that was recorded as processing with its payment order id before its
 * activity started (refunds, exception refunds, funds orders): anything else is not pending.
 */
export async function beginProcessing(trx: BusinessTrx, activity: ActivityView): Promise<{ reason: string } | undefined> {
  const row = await find(tradeTrx(trx), activity.businessRef);
  return row?.status === 'processing' && row.payment_order_id === activity.id ? undefined : { reason: 'not_pending' };
}
