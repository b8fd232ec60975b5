/**
 * The daily general ledger, built from the ledger's voucher feed (`Ledger.vouchersAfter`): each
 * voucher is copied once, its entries netted per account and tagged with the account's subject,
 * and dated on its accounting day — or on the first open day when that day is already closed,
 * so a closed day's figures never change.
 *
 * The feed is in seq order, and seq is taken at insert, not at commit: a gap may be a voucher
 * still committing. The cursor stops before a gap until it fills or has stayed open for
 * `gapWaitMs` (a rolled-back posting leaves a gap forever). Vouchers after a gap are copied at
 * once anyway (keyed by voucher id), so waiting never delays what is already visible.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Ledger, FeedVoucher } from '../ledger/index.js';
import type { Clock, Logger } from '../platform/index.js';
import type { FundsDB } from './funds.table.js';
import { subjectOf } from './gl-subject.js';

export interface GlFeedOptions {
  readonly batchMax: number;
  readonly gapWaitMs: number;
}

/** Serialises the feed's writes with day close, so no voucher is dated on a day being closed. */
export async function lockGl(trx: Transaction<FundsDB>): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('funds.gl'))`.execute(trx);
}

/** The day after the last closed day, or undefined when no day was ever closed. */
export async function firstOpenDay(db: Kysely<FundsDB>): Promise<string | undefined> {
  const row = await sql<{ d: string | null }>`select (max(date) + 1)::text as d from funds.day_close`.execute(db);
  return row.rows[0]?.d ?? undefined;
}

export class GlFeed {
  constructor(
    private readonly db: Kysely<FundsDB>,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: GlFeedOptions,
  ) {}

  /** One bounded pass; true when the batch was full (more to read at once). */
  async pass(): Promise<boolean> {
    const cursor = await this.db.selectFrom('funds.gl_cursor').selectAll().where('name', '=', 'ledger').executeTakeFirstOrThrow();
    const batch = await this.ledger.vouchersAfter(cursor.seq, this.options.batchMax);
    const advance = this.advance(cursor, batch);
    await this.learnAccounts(batch);
    await this.db.transaction().execute(async (trx) => {
      await lockGl(trx);
      const open = await firstOpenDay(trx);
      await this.copy(trx, batch, open);
      await trx.updateTable('funds.gl_cursor').set(advance).where('name', '=', 'ledger').execute();
    });
    return batch.length === this.options.batchMax && advance.seq > cursor.seq;
  }

  /** Runs passes until the feed is caught up (bounded); used before a day close. */
  async catchUp(passesMax = 1_000): Promise<void> {
    for (let i = 0; i < passesMax; i += 1) if (!(await this.pass())) return;
    this.logger.warn('GL feed still behind after the pass limit');
  }

  /** Where the cursor moves: through the contiguous seqs, past a gap only once it is old. */
  private advance(cursor: { seq: bigint; gap_seq: bigint | null; gap_since: Date | null }, batch: readonly FeedVoucher[]): { seq: bigint; gap_seq: bigint | null; gap_since: Date | null } {
    const now = this.clock.now();
    let seq = cursor.seq;
    for (const voucher of batch) {
      const expected = seq + 1n;
      if (voucher.seq === expected) {
        seq = voucher.seq;
        continue;
      }
      const waited = cursor.gap_seq === expected && cursor.gap_since !== null ? now.getTime() - cursor.gap_since.getTime() : -1;
      if (waited >= this.options.gapWaitMs) {
        this.logger.info({ from: expected.toString(), to: (voucher.seq - 1n).toString() }, 'GL feed skips a voucher seq gap (rolled back)');
        seq = voucher.seq;
        continue;
      }
      return { seq, gap_seq: expected, gap_since: cursor.gap_seq === expected ? cursor.gap_since : now };
    }
    return { seq, gap_seq: null, gap_since: null };
  }

  /** Records the subject of every account not seen before (read from the ledger before any transaction). */
  private async learnAccounts(batch: readonly FeedVoucher[]): Promise<void> {
    const ids = [...new Set(batch.flatMap((v) => v.entries.map((e) => e.accountId)))];
    if (ids.length === 0) return;
    const known = new Set((await this.db.selectFrom('funds.gl_account').select('account_id').where('account_id', 'in', ids).execute()).map((r) => r.account_id));
    const rows = [];
    for (const id of ids.filter((id) => !known.has(id))) {
      const account = await this.ledger.getAccount(id);
      if (!account) throw new Error(`ledger account ${id} of a voucher not found`);
      rows.push({ account_id: id, type: account.type, code: account.code, owner: account.owner, currency: account.currency, subject: subjectOf(account) });
    }
    if (rows.length > 0) await this.db.insertInto('funds.gl_account').values(rows).onConflict((oc) => oc.doNothing()).execute();
  }

  private async copy(trx: Transaction<FundsDB>, batch: readonly FeedVoucher[], open: string | undefined): Promise<void> {
    if (batch.length === 0) return;
    const inserted = await trx
      .insertInto('funds.gl_voucher')
      .values(
        batch.map((v) => ({
          voucher_id: v.id,
          ledger_seq: v.seq,
          source: v.source,
          reference: v.reference,
          currency: v.currency,
          ledger_date: v.accountingDate,
          gl_date: open !== undefined && open > v.accountingDate ? open : v.accountingDate,
          balanced: v.entries.reduce((sum, e) => sum + e.amount, 0n) === 0n,
          created_at: v.createdAt,
        })),
      )
      .onConflict((oc) => oc.column('voucher_id').doNothing())
      .returning(['voucher_id', sql<string>`gl_date::text`.as('gl_date')])
      .execute();
    if (inserted.length === 0) return;
    const dates = new Map(inserted.map((r) => [r.voucher_id, r.gl_date]));
    const accountIds = [...new Set(batch.flatMap((v) => v.entries.map((e) => e.accountId)))];
    const subjectsOf = new Map((await trx.selectFrom('funds.gl_account').select(['account_id', 'subject']).where('account_id', 'in', accountIds).execute()).map((r) => [r.account_id, r.subject]));
    const postings = batch
      .filter((v) => dates.has(v.id))
      .flatMap((v) =>
        v.entries
          .filter((e) => e.amount !== 0n)
          .map((e) => ({ voucher_id: v.id, account_id: e.accountId, subject: subjectsOf.get(e.accountId)!, currency: v.currency, gl_date: dates.get(v.id)!, amount: e.amount })),
      );
    for (let i = 0; i < postings.length; i += 1_000) await trx.insertInto('funds.gl_posting').values(postings.slice(i, i + 1_000)).execute();
  }
}
