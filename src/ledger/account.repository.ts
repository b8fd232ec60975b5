/**
 * Accounts and what is read from them: true balances (buffered entries and sub-account slots
 * included, read in one statement so one snapshot), statements, daily balances, holds, vouchers.
 */
import type { Account, AccountType, DailyBalance, Hold, HotMode, StatementLine } from './ledger.types.js';
import type { Executor, Row } from './sql.executor.js';

const accountColumns = `a.id, a.type, a.currency, a.code, a.owner, a.floor, a.hot, a.sub_count,
  case a.hot
    when 'buffered' then a.posted + coalesce((select sum(p.amount) from ledger.pending_entry p where p.account_id = a.id), 0)
    when 'sub_accounts' then (select sum(s.posted) from ledger.sub_account s where s.account_id = a.id)::bigint
    else a.posted end::bigint as true_posted,
  case a.hot
    when 'sub_accounts' then a.frozen + (select sum(s.frozen) from ledger.sub_account s where s.account_id = a.id)::bigint
    else a.frozen end::bigint as true_frozen`;

function toAccount(row: Row): Account {
  const posted = row.true_posted as bigint;
  const frozen = row.true_frozen as bigint;
  return {
    id: row.id as string,
    type: row.type as AccountType,
    currency: row.currency as string,
    code: (row.code as string | null) ?? null,
    owner: (row.owner as string | null) ?? null,
    floor: (row.floor as bigint | null) ?? null,
    hot: row.hot as HotMode,
    subCount: Number(row.sub_count),
    posted,
    frozen,
    available: posted - frozen,
  };
}

/** An account to open: its metadata, no balances yet. */
export type NewAccount = Omit<Account, 'posted' | 'frozen' | 'available'>;

/** Inserts an account (and its slots) in one statement; a taken code inserts nothing. */
export async function insertAccount(exec: Executor, account: NewAccount): Promise<boolean> {
  const rows = await exec(
    `with a as (
       insert into ledger.account (id, type, currency, code, owner, floor, hot, sub_count)
       values ($1::uuid, $2, $3, $4, $5, $6::bigint, $7, $8::integer)
       on conflict (code) do nothing
       returning id, sub_count
     ), s as (
       insert into ledger.sub_account (account_id, slot)
       select a.id, g from a, generate_series(0, a.sub_count - 1) g
     )
     select id from a`,
    [account.id, account.type, account.currency, account.code, account.owner, account.floor?.toString() ?? null, account.hot, account.subCount],
  );
  return rows.length === 1;
}

export async function findAccount(exec: Executor, id: string): Promise<Account | undefined> {
  const rows = await exec(`select ${accountColumns} from ledger.account a where a.id = $1::uuid`, [id]);
  return rows[0] ? toAccount(rows[0]) : undefined;
}

export async function findAccountByCode(exec: Executor, code: string): Promise<Account | undefined> {
  const rows = await exec(`select ${accountColumns} from ledger.account a where a.code = $1`, [code]);
  return rows[0] ? toAccount(rows[0]) : undefined;
}

/** Newest first; `beforeEntryId` is the cursor of the previous page. */
export async function statementLines(exec: Executor, accountId: string, limit: number, beforeEntryId: string | null): Promise<StatementLine[]> {
  const rows = await exec(
    `select id, voucher_id, amount, balance_after, slot, accounting_date::text as accounting_date, created_at
     from ledger.entry where account_id = $1::uuid and ($2::bigint is null or id < $2::bigint)
     order by id desc limit $3::integer`,
    [accountId, beforeEntryId, limit],
  );
  return rows.map((row) => ({
    entryId: String(row.id),
    voucherId: row.voucher_id as string,
    amount: row.amount as bigint,
    balanceAfter: row.balance_after as bigint,
    slot: (row.slot as number | null) ?? null,
    accountingDate: row.accounting_date as string,
    createdAt: row.created_at as Date,
  }));
}

export async function countBuffered(exec: Executor, accountId: string): Promise<number> {
  const rows = await exec('select count(*) as n from ledger.pending_entry where account_id = $1::uuid', [accountId]);
  return Number(rows[0]?.n ?? 0);
}

/**
 * A day's balance computed from entries: opening is the last balance_after before the day (per
 * slot for a sub_accounts account) plus what is still buffered from before it.
 */
export async function computeDailyBalance(exec: Executor, accountId: string, date: string): Promise<DailyBalance> {
  const rows = await exec(
    `with last_before as (
       select distinct on (coalesce(e.slot, -1)) e.balance_after
       from ledger.entry e where e.account_id = $1::uuid and e.accounting_date < $2::date
       order by coalesce(e.slot, -1), e.id desc
     ), day as (
       select amount from ledger.entry where account_id = $1::uuid and accounting_date = $2::date
       union all
       select amount from ledger.pending_entry where account_id = $1::uuid and accounting_date = $2::date
     )
     select
       coalesce((select sum(balance_after) from last_before), 0)
         + coalesce((select sum(amount) from ledger.pending_entry where account_id = $1::uuid and accounting_date < $2::date), 0) as opening,
       coalesce((select sum(-amount) from day where amount < 0), 0) as debits,
       coalesce((select sum(amount) from day where amount > 0), 0) as credits`,
    [accountId, date],
  );
  const row = rows[0]!;
  const opening = BigInt(row.opening as bigint | string);
  const debits = BigInt(row.debits as bigint | string);
  const credits = BigInt(row.credits as bigint | string);
  return { accountId, date, opening, debits, credits, closing: opening + credits - debits };
}

export async function findDailyBalance(exec: Executor, accountId: string, date: string): Promise<DailyBalance | undefined> {
  const rows = await exec(
    'select opening, debits, credits, closing from ledger.daily_balance where account_id = $1::uuid and date = $2::date',
    [accountId, date],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { accountId, date, opening: row.opening as bigint, debits: row.debits as bigint, credits: row.credits as bigint, closing: row.closing as bigint };
}

/** Keeps a closed day's balance once nothing of it can change any more. */
export async function storeDailyBalance(exec: Executor, balance: DailyBalance): Promise<void> {
  await exec(
    `insert into ledger.daily_balance (account_id, date, opening, debits, credits, closing)
     select $1::uuid, $2::date, $3::bigint, $4::bigint, $5::bigint, $6::bigint
     where not exists (select 1 from ledger.pending_entry where account_id = $1::uuid and accounting_date <= $2::date)
     on conflict do nothing`,
    [balance.accountId, balance.date, balance.opening.toString(), balance.debits.toString(), balance.credits.toString(), balance.closing.toString()],
  );
}

export async function findHold(exec: Executor, key: { source: string; reference: string }): Promise<Hold | undefined> {
  const rows = await exec(
    'select id, source, reference, account_id, amount, remaining, status, expires_at from ledger.hold where source = $1 and reference = $2',
    [key.source, key.reference],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: row.id as string,
    source: row.source as string,
    reference: row.reference as string,
    accountId: (row.account_id as string | null) ?? null,
    amount: row.amount as bigint,
    remaining: row.remaining as bigint,
    status: row.status as Hold['status'],
    expiresAt: (row.expires_at as Date | null) ?? null,
  };
}

/** Holds past their expiry, oldest first. */
export async function expiredHolds(exec: Executor, now: Date, limit: number): Promise<Array<{ source: string; reference: string }>> {
  const rows = await exec(
    `select source, reference from ledger.hold where status = 'held' and expires_at <= $1::timestamptz order by expires_at limit $2::integer`,
    [now, limit],
  );
  return rows.map((row) => ({ source: row.source as string, reference: row.reference as string }));
}

export interface StoredVoucher {
  readonly id: string;
  readonly source: string;
  readonly reference: string;
  readonly currency: string;
  readonly memo: string | null;
  readonly accountingDate: string;
  readonly reversalOf: string | null;
  readonly holdId: string | null;
  /** Folded and buffered entries alike. */
  readonly entries: Array<{ accountId: string; amount: bigint; slot: number | null }>;
}

export async function findVoucher(exec: Executor, id: string): Promise<StoredVoucher | undefined> {
  const rows = await exec(
    `select v.id, v.source, v.reference, v.currency, v.memo, v.accounting_date::text as accounting_date, v.reversal_of, v.hold_id,
       (select coalesce(json_agg(json_build_object('a', x.account_id, 'm', x.amount::text, 's', x.slot) order by x.k, x.ord), '[]'::json) from (
          select account_id, amount, slot, 0 as k, id as ord from ledger.entry where voucher_id = v.id
          union all
          select account_id, amount, null, 1, id from ledger.pending_entry where voucher_id = v.id) x) as entries
     from ledger.voucher v where v.id = $1::uuid`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: row.id as string,
    source: row.source as string,
    reference: row.reference as string,
    currency: row.currency as string,
    memo: (row.memo as string | null) ?? null,
    accountingDate: row.accounting_date as string,
    reversalOf: (row.reversal_of as string | null) ?? null,
    holdId: (row.hold_id as string | null) ?? null,
    entries: (row.entries as Array<{ a: string; m: string; s: number | null }>).map((e) => ({ accountId: e.a, amount: BigInt(e.m), slot: e.s })),
  };
}
