/**
 * Merchant settlement, T+1: for a trade day D (run on D+1 or later) each merchant account is paid
 * out what it held at the end of D and has not been settled yet, net of its fee:
 *
 *   fee = round_half_up(gross × rate_bp / 10 000)   (to the minor unit, i.e. the cent)
 *   net = gross − fee
 *
 * One voucher per merchant and day (`funds.merchant-settlement / <account>:<D>`): the merchant
 * −gross, `platform:fees` +fee, our deposit at the settlement bank +net (the payout leaves it).
 * The fee schedule is a table of rates in basis points per merchant, with a configured default.
 */
import { sql, type Kysely } from 'kysely';
import type { Ledger } from '../ledger/index.js';
import type { Clock, Logger } from '../platform/index.js';
import type { FundAccounts } from './fund-accounts.js';
import type { FundsDB, MerchantSettlementRow } from './funds.table.js';
import type { GlFeed } from './gl-feed.service.js';
import { fundsAccountCodes } from './gl-subject.js';
import { fixDate } from './recon.service.js';

/** The fee on a gross amount at a rate in basis points, rounded half up to the minor unit. */
export function feeOf(gross: bigint, rateBp: number): bigint {
  if (gross <= 0n) return 0n;
  return (gross * BigInt(rateBp) + 5_000n) / 10_000n;
}

export interface SettlementOptions {
  readonly defaultFeeRateBp: number;
  readonly settlementBank: string;
  /** HH:MM (UTC) from which the scheduled run settles the previous day. */
  readonly settlementTimeUtc: string;
}

export type SettleResult = { readonly ok: true; readonly settlements: MerchantSettlementRow[] } | { readonly ok: false; readonly error: 'day_not_over' };

export class MerchantSettlement {
  constructor(
    private readonly db: Kysely<FundsDB>,
    private readonly ledger: Ledger,
    private readonly accounts: FundAccounts,
    private readonly feed: GlFeed,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: SettlementOptions,
  ) {}

  async setFeeRate(merchantId: string, rateBp: number): Promise<void> {
    await this.db
      .insertInto('funds.fee_rate')
      .values({ merchant_id: merchantId, rate_bp: rateBp })
      .onConflict((oc) => oc.column('merchant_id').doUpdateSet({ rate_bp: rateBp, updated_at: sql`now()` }))
      .execute();
  }

  async feeRate(merchantId: string): Promise<number> {
    const row = await this.db.selectFrom('funds.fee_rate').select('rate_bp').where('merchant_id', '=', merchantId).executeTakeFirst();
    return row?.rate_bp ?? this.options.defaultFeeRateBp;
  }

  /** Settles every merchant for trade day `date`; repeating it settles nothing twice. */
  async settle(date: string): Promise<SettleResult> {
    if (date >= this.clock.now().toISOString().slice(0, 10)) return { ok: false, error: 'day_not_over' };
    await this.feed.catchUp();
    // Settlements a crash left pending are posted first, with the amounts they were given.
    for (const pending of await this.db.selectFrom('funds.merchant_settlement').selectAll().where('status', '=', 'pending').limit(1_000).execute()) await this.post(pending);
    const merchants = await this.db.selectFrom('funds.gl_account').select(['account_id', 'owner']).where('type', '=', 'merchant').where('currency', '=', 'CNY').orderBy('account_id').execute();
    for (const merchant of merchants) await this.settleOne(merchant.account_id, merchant.owner ?? merchant.account_id, date);
    const rows = await this.db.selectFrom('funds.merchant_settlement').selectAll().where('date', '=', date).orderBy('merchant_id').execute();
    await this.db.insertInto('funds.settlement_day').values({ date, merchants: rows.length }).onConflict((oc) => oc.column('date').doNothing()).execute();
    return { ok: true, settlements: rows.map(fixDate) };
  }

  /** The schedule (T+1): once the settlement time of day has passed, yesterday is settled, once. */
  async scheduled(): Promise<boolean> {
    const now = this.clock.now();
    if (now.toISOString().slice(11, 16) < this.options.settlementTimeUtc) return false;
    const yesterday = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
    if (await this.db.selectFrom('funds.settlement_day').select('date').where('date', '=', yesterday).executeTakeFirst()) return false;
    const result = await this.settle(yesterday);
    if (result.ok) this.logger.info({ date: yesterday, merchants: result.settlements.length }, 'T+1 merchant settlement ran');
    return false;
  }

  private async settleOne(accountId: string, merchantId: string, date: string): Promise<void> {
    const done = await sql<{ here: boolean; later: boolean; after: bigint }>`select
        exists (select 1 from funds.merchant_settlement where account_id = ${accountId}::uuid and date = ${date}::date) as here,
        exists (select 1 from funds.merchant_settlement where account_id = ${accountId}::uuid and date > ${date}::date) as later,
        coalesce((select sum(gross) from funds.merchant_settlement where account_id = ${accountId}::uuid and status = 'posted'
          and date < ${date}::date and posted_date > ${date}::date), 0)::int8 as after`.execute(this.db);
    const state = done.rows[0]!;
    // Days settle in order per merchant: a later day's settlement already took this day's money.
    if (state.here || state.later) return;
    const day = await this.ledger.dailyBalance(accountId, date);
    const balance = await this.ledger.balance(accountId);
    if (!day || !balance) return;
    const owed = day.closing - BigInt(state.after);
    const gross = owed < balance.available ? owed : balance.available;
    if (gross <= 0n) return;
    const rateBp = await this.feeRate(merchantId);
    const fee = feeOf(gross, rateBp);
    const row = { account_id: accountId, date, merchant_id: merchantId, gross, rate_bp: rateBp, fee, net: gross - fee, status: 'pending' as const, refusal: null, voucher_id: null, posted_date: null };
    const inserted = await this.db.insertInto('funds.merchant_settlement').values(row).onConflict((oc) => oc.columns(['account_id', 'date']).doNothing()).returningAll().executeTakeFirst();
    if (inserted) await this.post(inserted);
  }

  private async post(row: MerchantSettlementRow): Promise<void> {
    const date = fixDate(row).date as string;
    const entries = [{ accountId: row.account_id, amount: -row.gross }];
    if (row.fee > 0n) entries.push({ accountId: await this.accounts.idOf(fundsAccountCodes.fees('CNY')), amount: row.fee });
    if (row.net > 0n) entries.push({ accountId: await this.accounts.idOf(fundsAccountCodes.bankDeposit(this.options.settlementBank, 'CNY')), amount: row.net });
    const posted = await this.ledger.post({ source: 'funds.merchant-settlement', reference: `${row.account_id}:${date}`, currency: 'CNY', entries, memo: `T+1 settlement of ${date}` });
    if (!posted.ok) {
      this.logger.warn({ merchant: row.merchant_id, date, error: posted.error }, 'merchant settlement refused by the ledger');
      await this.db.updateTable('funds.merchant_settlement').set({ status: 'refused', refusal: posted.error }).where('account_id', '=', row.account_id).where('date', '=', date).where('status', '=', 'pending').execute();
      return;
    }
    const voucher = await this.ledger.getVoucher(posted.voucherId);
    await this.db
      .updateTable('funds.merchant_settlement')
      .set({ status: 'posted', voucher_id: posted.voucherId, posted_date: voucher?.accountingDate ?? null })
      .where('account_id', '=', row.account_id)
      .where('date', '=', date)
      .where('status', '=', 'pending')
      .execute();
  }
}
