/**
 * The compliance export: one CSV per day of every merchant's trade flows (paid trades, from the
 * event stream) and fund flows (the GL's postings on merchant accounts), grouped by merchant.
 */
import { sql, type Kysely } from 'kysely';
import { formatDecimal } from '../platform/index.js';
import type { FundsDB } from './funds.table.js';

export const complianceHeader = 'merchant_id,record,time,reference,counterparty,amount,currency,detail';

function field(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The day's CSV (UTC day); `merchantId` narrows it to one merchant. Amounts as decimals, signed for fund flows. */
export async function complianceCsv(db: Kysely<FundsDB>, date: string, merchantId?: string): Promise<string> {
  const trades = await sql<{ merchant: string; at: Date; trade_id: string; buyer_id: string | null; amount: bigint; currency: string; trade_type: string | null; payment_id: string | null; card_amount: bigint; bank: string | null }>`
    select seller_id as merchant, paid_at as at, trade_id, buyer_id, amount, currency, trade_type, payment_id, card_amount, bank
    from funds.trade_check
    where seller_id is not null and paid_at >= ${date}::date and paid_at < ${date}::date + 1 and (${merchantId ?? null}::text is null or seller_id = ${merchantId ?? null}::text)`.execute(db);
  const flows = await sql<{ merchant: string; at: Date; source: string; reference: string; amount: bigint; currency: string; subject: string }>`
    select coalesce(a.owner, a.account_id::text) as merchant, v.created_at as at, v.source, v.reference, p.amount, p.currency, p.subject
    from funds.gl_posting p join funds.gl_account a on a.account_id = p.account_id join funds.gl_voucher v on v.voucher_id = p.voucher_id
    where a.type = 'merchant' and p.gl_date = ${date}::date and (${merchantId ?? null}::text is null or coalesce(a.owner, a.account_id::text) = ${merchantId ?? null}::text)`.execute(db);
  const rows: Array<{ merchant: string; kind: string; at: string; line: string }> = [];
  for (const t of trades.rows) {
    const detail = `${t.trade_type ?? 'trade'}; payment ${t.payment_id ?? '-'}${t.card_amount > 0n ? `; card ${formatDecimal(t.card_amount)} via ${t.bank ?? '?'}` : ''}`;
    const at = t.at.toISOString();
    rows.push({ merchant: t.merchant, kind: 'trade', at, line: [t.merchant, 'trade', at, t.trade_id, t.buyer_id ?? '', formatDecimal(t.amount), t.currency, detail].map(field).join(',') });
  }
  for (const f of flows.rows) {
    const at = f.at.toISOString();
    rows.push({ merchant: f.merchant, kind: 'fund_flow', at, line: [f.merchant, 'fund_flow', at, `${f.source}/${f.reference}`, '', formatDecimal(f.amount), f.currency, `subject ${f.subject}`].map(field).join(',') });
  }
  rows.sort((a, b) => a.merchant.localeCompare(b.merchant) || a.kind.localeCompare(b.kind) || a.at.localeCompare(b.at) || a.line.localeCompare(b.line));
  return [complianceHeader, ...rows.map((r) => r.line)].join('\n') + '\n';
}
