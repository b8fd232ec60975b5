/**
 * The ledger's change feed: vouchers in `seq` order with their entries (folded and still
 * buffered alike), for followers such as accounting. `seq` is assigned at insert, not at commit:
 * a follower must treat a gap in it as possibly still in flight (see src/funds' GL feed).
 */
import type { Executor } from './sql.executor.js';

/** One voucher as the feed gives it. */
export interface FeedVoucher {
  readonly seq: bigint;
  readonly id: string;
  readonly source: string;
  readonly reference: string;
  readonly currency: string;
  readonly accountingDate: string;
  readonly createdAt: Date;
  /** Net per account (a sub-accounts account's slots summed). */
  readonly entries: ReadonlyArray<{ readonly accountId: string; readonly amount: bigint }>;
}

/** Up to `limit` vouchers with seq > afterSeq, oldest first, read in one statement (one snapshot). */
export async function vouchersAfter(exec: Executor, afterSeq: bigint, limit: number): Promise<FeedVoucher[]> {
  // Entries are fetched for the page as a whole (materialised, so the planner cannot turn the
  // pending_entry read into one scan per voucher): an index probe per voucher on entry, one pass
  // over the small, constantly folded pending_entry table.
  const rows = await exec(
    `with v as materialized (
       select seq, id, source, reference, currency, accounting_date, created_at
       from ledger.voucher where seq > $1::bigint order by seq limit $2::integer
     ), e as materialized (
       select voucher_id, account_id, sum(amount) as amount from (
         select voucher_id, account_id, amount from ledger.entry where voucher_id in (select id from v)
         union all
         select voucher_id, account_id, amount from ledger.pending_entry where voucher_id in (select id from v)) x
       group by voucher_id, account_id
     ), j as (
       select voucher_id, json_agg(json_build_object('a', account_id, 'm', amount::text)) as entries from e group by voucher_id
     )
     select v.seq, v.id, v.source, v.reference, v.currency, v.accounting_date::text as accounting_date, v.created_at,
       coalesce(j.entries, '[]'::json) as entries
     from v left join j on j.voucher_id = v.id order by v.seq`,
    [afterSeq.toString(), limit],
  );
  return rows.map((row) => ({
    seq: BigInt(row.seq as bigint | string),
    id: row.id as string,
    source: row.source as string,
    reference: row.reference as string,
    currency: row.currency as string,
    accountingDate: row.accounting_date as string,
    createdAt: row.created_at as Date,
    entries: (row.entries as Array<{ a: string; m: string }>).map((e) => ({ accountId: e.a, amount: BigInt(e.m) })),
  }));
}
