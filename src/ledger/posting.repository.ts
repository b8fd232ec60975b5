/**
 * Calls of the posting functions (migrations/002_posting_functions.sql): a batch of vouchers
 * in one statement, a freeze, a release, a fold. Each takes an Executor first, so the same SQL
 * runs over the pool or inside a caller's transaction.
 */
import { strict as assert } from 'node:assert';
import type { Executor } from './sql.executor.js';

/** A voucher ready for the database: validated, hashed, with its id chosen. */
export interface PreparedPosting {
  readonly voucherId: string;
  readonly source: string;
  readonly reference: string;
  readonly hash: string;
  readonly currency: string;
  readonly memo: string | null;
  readonly reversalOf: string | null;
  /** Post from a hold: its key, the amount taken from it, whether the rest is released. */
  readonly hold: { readonly source: string; readonly reference: string; readonly amount: bigint; readonly complete: boolean } | null;
  /** A null accountId is the hold's side (the account is the hold's). */
  readonly entries: ReadonlyArray<{ readonly accountId: string | null; readonly amount: bigint }>;
}

export type BatchStatus =
  | 'ok'
  | 'replayed'
  | 'duplicate_conflict'
  | 'unknown_account'
  | 'currency_mismatch'
  | 'insufficient_funds'
  | 'hold_not_found'
  | 'hold_not_held'
  | 'hold_insufficient'
  | 'already_reversed'
  | 'unbalanced'
  | 'retry_wide';

export interface BatchOutcome {
  readonly status: BatchStatus;
  readonly voucherId: string;
  readonly detail: string | null;
}

const postBatchSql = `select idx, status, voucher_id, detail from ledger.post_batch(
  $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::integer[], $9::bigint[],
  $10::boolean[], $11::boolean[], $12::text[], $13::text[], $14::integer[], $15::uuid[], $16::bigint[], $17::date, $18::integer,
  $19::uuid[], $20::integer[])`;

/**
 * The batch's accounts sorted as PostgreSQL sorts uuids (lower-case hex compares like the bytes)
 * and each entry's 1-based index among them; null for the hold's side of an entry.
 */
function accountIndex(accountIds: ReadonlyArray<string | null>): { sorted: string[]; index: Array<number | null> } {
  const sorted = [...new Set(accountIds.filter((id): id is string => id !== null).map((id) => id.toLowerCase()))].sort();
  const position = new Map(sorted.map((id, i) => [id, i + 1]));
  return { sorted, index: accountIds.map((id) => (id === null ? null : position.get(id.toLowerCase())!)) };
}

/** Posts vouchers in order in one statement; `wide[i]` locks every slot of its sub-accounts. */
export async function postBatch(
  exec: Executor,
  postings: readonly PreparedPosting[],
  wide: readonly boolean[],
  accountingDate: string,
  seed: number,
): Promise<BatchOutcome[]> {
  const holdIndex = new Map<string, number>();
  const holdSources: string[] = [];
  const holdReferences: string[] = [];
  const ePosting: number[] = [];
  const eAccount: Array<string | null> = [];
  const eAmount: string[] = [];
  const pHold: Array<number | null> = [];
  postings.forEach((posting, i) => {
    if (posting.hold) {
      const key = `${posting.hold.source}\u0000${posting.hold.reference}`;
      let index = holdIndex.get(key);
      if (index === undefined) {
        holdSources.push(posting.hold.source);
        holdReferences.push(posting.hold.reference);
        index = holdSources.length;
        holdIndex.set(key, index);
      }
      pHold.push(index);
    } else {
      pHold.push(null);
    }
    for (const entry of posting.entries) {
      ePosting.push(i + 1);
      eAccount.push(entry.accountId);
      eAmount.push(entry.amount.toString());
    }
  });
  const { sorted, index } = accountIndex(eAccount);
  const rows = await exec(postBatchSql, [
    postings.map((p) => p.voucherId),
    postings.map((p) => p.source),
    postings.map((p) => p.reference),
    postings.map((p) => p.hash),
    postings.map((p) => p.currency),
    postings.map((p) => p.memo),
    postings.map((p) => p.reversalOf),
    pHold,
    postings.map((p) => (p.hold ? p.hold.amount.toString() : null)),
    postings.map((p) => (p.hold ? p.hold.complete : null)),
    wide,
    holdSources,
    holdReferences,
    ePosting,
    eAccount,
    eAmount,
    accountingDate,
    seed,
    sorted,
    index,
  ], 'ledger_post_batch');
  assert.equal(rows.length, postings.length, 'post_batch answers once per voucher');
  return rows.map((row, i) => {
    assert.equal(Number(row.idx), i + 1);
    return { status: row.status as BatchStatus, voucherId: row.voucher_id as string, detail: (row.detail as string | null) ?? null };
  });
}

export interface FreezeCall {
  readonly holdId: string;
  readonly source: string;
  readonly reference: string;
  readonly hash: string;
  readonly accountId: string;
  readonly currency: string;
  readonly amount: bigint;
  readonly expiresAt: Date | null;
  /** The date of a rebalancing voucher, should a sub-accounts account need one. */
  readonly accountingDate: string;
}

export type FreezeStatus = 'ok' | 'replayed' | 'duplicate_conflict' | 'hold_cancelled' | 'unknown_account' | 'currency_mismatch' | 'insufficient_funds';

export async function freezeHold(exec: Executor, call: FreezeCall): Promise<{ status: FreezeStatus; holdId: string | null }> {
  const rows = await exec('select status, hold_id from ledger.freeze($1::uuid, $2, $3, $4, $5::uuid, $6, $7::bigint, $8::timestamptz, $9::date)', [
    call.holdId,
    call.source,
    call.reference,
    call.hash,
    call.accountId,
    call.currency,
    call.amount.toString(),
    call.expiresAt,
    call.accountingDate,
  ]);
  const row = rows[0];
  assert(row, 'ledger.freeze answers');
  return { status: row.status as FreezeStatus, holdId: (row.hold_id as string | null) ?? null };
}

export type ReleaseStatus = 'released' | 'replayed' | 'cancelled_before_try' | 'hold_already_posted' | 'not_expired';

/** Releases a hold; with expiredBefore, only if it expired before then. */
export async function releaseHold(
  exec: Executor,
  tombstoneId: string,
  key: { source: string; reference: string },
  expiredBefore: Date | null,
): Promise<{ status: ReleaseStatus; holdId: string | null }> {
  const rows = await exec('select status, hold_id from ledger.release($1::uuid, $2, $3, $4::timestamptz)', [
    tombstoneId,
    key.source,
    key.reference,
    expiredBefore,
  ]);
  const row = rows[0];
  assert(row, 'ledger.release answers');
  return { status: row.status as ReleaseStatus, holdId: (row.hold_id as string | null) ?? null };
}

/** Folds up to `limit` buffered entries of one account; returns how many moved. */
export async function foldAccount(exec: Executor, accountId: string, limit: number): Promise<number> {
  const rows = await exec('select ledger.fold_account($1::uuid, $2::integer) as moved', [accountId, limit]);
  return Number(rows[0]?.moved ?? 0);
}

/** Accounts with buffered entries waiting to be folded. */
export async function accountsWithBuffered(exec: Executor, limit: number): Promise<string[]> {
  const rows = await exec('select account_id from ledger.pending_entry group by account_id limit $1', [limit]);
  return rows.map((row) => row.account_id as string);
}
