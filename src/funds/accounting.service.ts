/**
 * Accounting reports per day — trial balance, balance sheet, income statement — and the day close
 * (日切) that fixes a day: its trial balance is stored and every later posting of that day is
 * dated on the first open day instead (see gl-feed.service.ts), so a closed day never changes.
 */
import { strict as assert } from 'node:assert';
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../platform/index.js';
import type { FundsDB } from './funds.table.js';
import { lockGl, type GlFeed } from './gl-feed.service.js';
import { subjects, type SubjectClass, type SubjectCode } from './gl-subject.js';

export interface TrialBalanceLine {
  readonly subject: string;
  readonly name: string;
  readonly class: SubjectClass;
  /** Ledger sign: positive = credit balance, negative = debit balance. */
  readonly opening: bigint;
  readonly debits: bigint;
  readonly credits: bigint;
  readonly closing: bigint;
}

export interface TrialBalance {
  readonly date: string;
  /** True once the day is closed (or lies before a closed day): the figures are final. */
  readonly final: boolean;
  readonly currencies: Record<string, { lines: TrialBalanceLine[]; debits: bigint; credits: bigint; closingSum: bigint; balanced: boolean }>;
  readonly balanced: boolean;
}

export interface BalanceSheet {
  readonly date: string;
  readonly final: boolean;
  /** Per currency, in natural signs (assets as positive amounts). */
  readonly currencies: Record<string, { assets: bigint; liabilities: bigint; equity: bigint; retainedEarnings: bigint; balanced: boolean; lines: Array<{ subject: string; name: string; class: SubjectClass; amount: bigint }> }>;
}

export interface IncomeStatement {
  readonly date: string;
  readonly final: boolean;
  readonly currencies: Record<string, { income: bigint; expenses: bigint; net: bigint; lines: Array<{ subject: string; name: string; class: SubjectClass; amount: bigint }> }>;
}

/** One line of the daily general ledger (ledger sign: positive = credit). */
export interface GlLine {
  readonly ledgerSeq: bigint;
  readonly voucherId: string;
  readonly source: string;
  readonly reference: string;
  readonly accountId: string;
  readonly subject: string;
  readonly currency: string;
  readonly amount: bigint;
  /** The ledger's own accounting date; differs from the GL day when that day was closed. */
  readonly ledgerDate: string;
}

export type DayCloseResult =
  | { readonly ok: true; readonly date: string; readonly replayed: boolean; readonly trialBalance: TrialBalance }
  | { readonly ok: false; readonly error: 'day_not_over' | 'earlier_day_open' | 'already_closed' | 'unbalanced'; readonly date?: string };

type Db = Kysely<FundsDB>;

function subjectInfo(code: string): { name: string; class: SubjectClass } {
  const subject = subjects[code as SubjectCode];
  assert(subject, `unknown subject ${code}`);
  return { name: subject.name, class: subject.class };
}

async function lastClosedBefore(db: Db, date: string): Promise<string | undefined> {
  const row = await sql<{ d: string | null }>`select max(date)::text as d from funds.day_close where date < ${date}::date`.execute(db);
  return row.rows[0]?.d ?? undefined;
}

async function isFinal(db: Db, date: string): Promise<{ stored: boolean; final: boolean }> {
  const row = await sql<{ stored: boolean; final: boolean }>`select exists (select 1 from funds.day_close where date = ${date}::date) as stored,
    exists (select 1 from funds.day_close where date >= ${date}::date) as final`.execute(db);
  return row.rows[0]!;
}

/** A day's figures computed from the GL postings: the last closed day's closing plus what came after. */
async function computeDay(db: Db, date: string): Promise<Map<string, Map<string, { opening: bigint; debits: bigint; credits: bigint }>>> {
  const base = await lastClosedBefore(db, date);
  const rows = await sql<{ currency: string; subject: string; opening: bigint; debits: bigint; credits: bigint }>`
    with before as (
      select currency, subject, closing as amount from funds.closed_balance where ${base ?? null}::date is not null and date = ${base ?? null}::date
      union all
      select currency, subject, sum(amount) from funds.gl_posting
      where gl_date < ${date}::date and (${base ?? null}::date is null or gl_date > ${base ?? null}::date)
      group by currency, subject
    ), day as (
      select currency, subject,
        coalesce(sum(-amount) filter (where amount < 0), 0) as debits,
        coalesce(sum(amount) filter (where amount > 0), 0) as credits
      from funds.gl_posting where gl_date = ${date}::date group by currency, subject
    ), o as (select currency, subject, sum(amount) as opening from before group by currency, subject)
    select coalesce(o.currency, day.currency) as currency, coalesce(o.subject, day.subject) as subject,
      coalesce(o.opening, 0)::int8 as opening, coalesce(day.debits, 0)::int8 as debits, coalesce(day.credits, 0)::int8 as credits
    from o full join day on day.currency = o.currency and day.subject = o.subject`.execute(db);
  const out = new Map<string, Map<string, { opening: bigint; debits: bigint; credits: bigint }>>();
  for (const row of rows.rows) {
    if (!out.has(row.currency)) out.set(row.currency, new Map());
    out.get(row.currency)!.set(row.subject, { opening: BigInt(row.opening), debits: BigInt(row.debits), credits: BigInt(row.credits) });
  }
  return out;
}

function assemble(date: string, final: boolean, figures: Map<string, Map<string, { opening: bigint; debits: bigint; credits: bigint }>>): TrialBalance {
  const currencies: TrialBalance['currencies'] = {};
  for (const [currency, bySubject] of [...figures].sort(([a], [b]) => a.localeCompare(b))) {
    const lines = [...bySubject]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([subject, f]) => ({ subject, ...subjectInfo(subject), opening: f.opening, debits: f.debits, credits: f.credits, closing: f.opening + f.credits - f.debits }));
    const debits = lines.reduce((s, l) => s + l.debits, 0n);
    const credits = lines.reduce((s, l) => s + l.credits, 0n);
    const closingSum = lines.reduce((s, l) => s + l.closing, 0n);
    currencies[currency] = { lines, debits, credits, closingSum, balanced: debits === credits && closingSum === 0n };
  }
  return { date, final, currencies, balanced: Object.values(currencies).every((c) => c.balanced) };
}

export class Accounting {
  constructor(
    private readonly db: Db,
    private readonly feed: GlFeed,
    private readonly clock: Clock,
  ) {}

  /** The trial balance of an accounting day (YYYY-MM-DD): stored once closed, computed before. */
  async trialBalance(date: string, db: Db = this.db): Promise<TrialBalance> {
    const { stored, final } = await isFinal(db, date);
    if (stored) {
      const rows = await db.selectFrom('funds.closed_balance').select(['currency', 'subject', 'opening', 'debits', 'credits']).where('date', '=', date).execute();
      const figures = new Map<string, Map<string, { opening: bigint; debits: bigint; credits: bigint }>>();
      for (const row of rows) {
        if (!figures.has(row.currency)) figures.set(row.currency, new Map());
        figures.get(row.currency)!.set(row.subject, { opening: row.opening, debits: row.debits, credits: row.credits });
      }
      return assemble(date, true, figures);
    }
    return assemble(date, final, await computeDay(db, date));
  }

  async balanceSheet(date: string): Promise<BalanceSheet> {
    const tb = await this.trialBalance(date);
    const currencies: BalanceSheet['currencies'] = {};
    for (const [currency, c] of Object.entries(tb.currencies)) {
      const natural = (l: TrialBalanceLine) => (l.class === 'asset' || l.class === 'expense' ? -l.closing : l.closing);
      const sum = (cls: SubjectClass) => c.lines.filter((l) => l.class === cls).reduce((s, l) => s + natural(l), 0n);
      const assets = sum('asset');
      const liabilities = sum('liability');
      const equity = sum('equity');
      const retainedEarnings = sum('income') - sum('expense');
      const lines = c.lines.filter((l) => l.class === 'asset' || l.class === 'liability' || l.class === 'equity').map((l) => ({ subject: l.subject, name: l.name, class: l.class, amount: natural(l) }));
      currencies[currency] = { assets, liabilities, equity, retainedEarnings, balanced: assets === liabilities + equity + retainedEarnings, lines };
    }
    return { date, final: tb.final, currencies };
  }

  async incomeStatement(date: string): Promise<IncomeStatement> {
    const tb = await this.trialBalance(date);
    const currencies: IncomeStatement['currencies'] = {};
    for (const [currency, c] of Object.entries(tb.currencies)) {
      const lines = c.lines
        .filter((l) => l.class === 'income' || l.class === 'expense')
        .map((l) => ({ subject: l.subject, name: l.name, class: l.class, amount: l.class === 'income' ? l.credits - l.debits : l.debits - l.credits }));
      const income = lines.filter((l) => l.class === 'income').reduce((s, l) => s + l.amount, 0n);
      const expenses = lines.filter((l) => l.class === 'expense').reduce((s, l) => s + l.amount, 0n);
      currencies[currency] = { income, expenses, net: income - expenses, lines };
    }
    return { date, final: tb.final, currencies };
  }

  /**
   * Closes an accounting day: the GL catches up with the ledger, then (under the GL lock) the
   * day's trial balance is checked and stored. Days close in order; closing a closed day again
   * answers the stored figures.
   */
  async closeDay(date: string, by: string): Promise<DayCloseResult> {
    const today = this.clock.now().toISOString().slice(0, 10);
    if (date >= today) return { ok: false, error: 'day_not_over' };
    await this.feed.catchUp();
    const outcome = await this.db.transaction().execute(async (trx): Promise<DayCloseResult> => {
      await lockGl(trx);
      if (await trx.selectFrom('funds.day_close').select('date').where('date', '=', date).executeTakeFirst()) return { ok: true, date, replayed: true, trialBalance: await this.trialBalance(date, trx) };
      const last = (await sql<{ d: string | null }>`select max(date)::text as d from funds.day_close`.execute(trx)).rows[0]?.d ?? null;
      if (last !== null && last > date) return { ok: false, error: 'already_closed', date: last };
      const earlier = await sql<{ d: string | null }>`select min(gl_date)::text as d from funds.gl_voucher
        where gl_date < ${date}::date and (${last}::date is null or gl_date > ${last}::date)`.execute(trx);
      const open = earlier.rows[0]?.d ?? null;
      if (open !== null) return { ok: false, error: 'earlier_day_open', date: open };
      const tb = assemble(date, true, await computeDay(trx, date));
      if (!tb.balanced) return { ok: false, error: 'unbalanced' };
      const vouchers = (await sql<{ n: number }>`select count(*)::int as n from funds.gl_voucher where gl_date = ${date}::date`.execute(trx)).rows[0]!.n;
      await trx.insertInto('funds.day_close').values({ date, closed_by: by, vouchers }).execute();
      const rows = Object.entries(tb.currencies).flatMap(([currency, c]) =>
        c.lines.map((l) => ({ date, currency, subject: l.subject, opening: l.opening, debits: l.debits, credits: l.credits, closing: l.closing })),
      );
      if (rows.length > 0) await trx.insertInto('funds.closed_balance').values(rows).execute();
      return { ok: true, date, replayed: false, trialBalance: tb };
    });
    return outcome;
  }

  /** The day's general ledger: its postings per subject, in voucher order (bounded page, keyset on the voucher seq). */
  async generalLedger(date: string, filter: { subject?: string; afterSeq?: bigint; limit: number }): Promise<GlLine[]> {
    const rows = await sql<GlLine>`select v.ledger_seq as "ledgerSeq", p.voucher_id as "voucherId", v.source, v.reference, p.account_id as "accountId",
        p.subject, p.currency, p.amount, v.ledger_date::text as "ledgerDate"
      from funds.gl_posting p join funds.gl_voucher v on v.voucher_id = p.voucher_id
      where p.gl_date = ${date}::date and (${filter.subject ?? null}::text is null or p.subject = ${filter.subject ?? null}::text)
        and v.ledger_seq > ${(filter.afterSeq ?? -1n).toString()}::bigint
      order by v.ledger_seq, p.account_id limit ${filter.limit}`.execute(this.db);
    return rows.rows;
  }

  /** The last closed day, if any. */
  async lastClosed(): Promise<string | undefined> {
    return (await sql<{ d: string | null }>`select max(date)::text as d from funds.day_close`.execute(this.db)).rows[0]?.d ?? undefined;
  }
}

