/**
 * The bank's daily statement: every transaction that finished SUCCESS on a UTC day, in the
 * bank's own file format, with the discrepancies it was told to contain (for reconciliation).
 *
 * alpha (CSV, amounts in minor units):
 *   request_id,bank_ref,service,amount_minor,currency,status,finished_at
 *   0192…,ALPHA…,PAY,1050,CNY,SUCCESS,2026-11-21T09:45:00.000Z
 * beta (pipe-separated, amounts as decimals, times yyyyMMddHHmmss UTC):
 *   H|BETA|20261121|<line count>|<sum of amounts>
 *   D|<out_trade_no>|<trade_no>|PAY|10.50|CNY|TRADE_SUCCESS|20261121094500
 *   T|<line count>|<sum of amounts>
 */
import { formatDecimal } from '../platform/money.js';
import { betaTime } from './beta.codec.js';
import type { BankName } from './bank-profile.js';
import type { StatementDiscrepancy, Txn } from './sim-model.js';

export interface StatementLine {
  readonly requestId: string;
  readonly bankRef: string;
  readonly service: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly finishedAt: number;
}

export interface Statement {
  readonly date: string;
  readonly fileName: string;
  readonly contentType: string;
  readonly body: string;
  /** What was altered, so a test can check that reconciliation finds exactly these. */
  readonly discrepancies: { readonly missing: string[]; readonly extra: string[]; readonly amount: string[] };
}

/** The lines of a day with the configured discrepancies applied, deterministically. */
export function statementLines(txns: Iterable<Txn>, date: string, discrepancy: StatementDiscrepancy | undefined): { lines: StatementLine[]; altered: Statement['discrepancies'] } {
  const real = [...txns]
    .filter((t) => t.status === 'SUCCESS' && t.finishedAt !== null && new Date(t.finishedAt).toISOString().slice(0, 10) === date)
    .sort((a, b) => a.finishedAt! - b.finishedAt! || a.requestId.localeCompare(b.requestId))
    .map((t) => ({ requestId: t.requestId, bankRef: t.bankRef, service: t.service.toUpperCase(), amount: t.amount, currency: t.currency, finishedAt: t.finishedAt! }));
  const altered = { missing: [] as string[], extra: [] as string[], amount: [] as string[] };
  if (!discrepancy) return { lines: real, altered };
  // The first `missing` lines are left out, the next `amount` lines carry 1.00 more.
  const lines: StatementLine[] = [];
  real.forEach((line, index) => {
    if (index < discrepancy.missing) return void altered.missing.push(line.requestId);
    if (index < discrepancy.missing + discrepancy.amount) {
      altered.amount.push(line.requestId);
      return void lines.push({ ...line, amount: line.amount + 100n });
    }
    lines.push(line);
  });
  const noon = Date.parse(`${date}T12:00:00.000Z`);
  for (let i = 0; i < discrepancy.extra; i += 1) {
    const requestId = `EXTRA-${date}-${i + 1}`;
    altered.extra.push(requestId);
    lines.push({ requestId, bankRef: `XREF${date.replaceAll('-', '')}${i + 1}`, service: 'PAY', amount: 1_000n * BigInt(i + 1), currency: 'CNY', finishedAt: noon });
  }
  return { lines, altered };
}

export function renderStatement(bank: BankName, date: string, lines: StatementLine[], altered: Statement['discrepancies']): Statement {
  const compact = date.replaceAll('-', '');
  if (bank === 'alpha') {
    const rows = lines.map((l) => [l.requestId, l.bankRef, l.service, l.amount.toString(), l.currency, 'SUCCESS', new Date(l.finishedAt).toISOString()].join(','));
    return { date, fileName: `alpha-${compact}.csv`, contentType: 'text/csv', body: ['request_id,bank_ref,service,amount_minor,currency,status,finished_at', ...rows].join('\n') + '\n', discrepancies: altered };
  }
  const total = formatDecimal(lines.reduce((sum, l) => sum + l.amount, 0n));
  const rows = lines.map((l) => ['D', l.requestId, l.bankRef, l.service, formatDecimal(l.amount, l.currency), l.currency, 'TRADE_SUCCESS', betaTime(l.finishedAt)].join('|'));
  return { date, fileName: `beta-${compact}.txt`, contentType: 'text/plain', body: [`H|BETA|${compact}|${lines.length}|${total}`, ...rows, `T|${lines.length}|${total}`].join('\n') + '\n', discrepancies: altered };
}
