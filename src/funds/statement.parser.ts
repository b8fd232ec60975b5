/**
 * Parsers of the banks' daily statement files (formats in src/banksim/statement.ts): alpha is a
 * CSV in minor units, beta pipe-separated H|D|T lines in decimals whose header and trailer
 * counts and sums must agree with the detail lines. A file that does not parse is refused whole.
 */
import { parseDecimal } from '../platform/index.js';

export interface BankLine {
  readonly requestId: string;
  readonly bankRef: string;
  readonly service: 'pay' | 'refund' | 'payout';
  readonly amount: bigint;
  readonly currency: string;
  readonly finishedAt: Date;
}

export type ParseResult = { readonly ok: true; readonly lines: BankLine[] } | { readonly ok: false; readonly error: string };

const services: Record<string, BankLine['service']> = { PAY: 'pay', REFUND: 'refund', PAYOUT: 'payout' };

function fail(error: string): ParseResult {
  return { ok: false, error };
}

export function parseAlpha(body: string): ParseResult {
  const rows = body.split('\n').filter((l) => l.trim() !== '');
  if (rows[0] !== 'request_id,bank_ref,service,amount_minor,currency,status,finished_at') return fail('alpha: unexpected header');
  const lines: BankLine[] = [];
  for (const [index, row] of rows.slice(1).entries()) {
    const f = row.split(',');
    const service = services[f[2] ?? ''];
    const finishedAt = new Date(f[6] ?? '');
    if (f.length !== 7 || !service || !/^\d{1,18}$/.test(f[3]!) || f[5] !== 'SUCCESS' || Number.isNaN(finishedAt.getTime())) return fail(`alpha: bad line ${index + 2}`);
    lines.push({ requestId: f[0]!, bankRef: f[1]!, service, amount: BigInt(f[3]!), currency: f[4]!, finishedAt });
  }
  return { ok: true, lines };
}

function betaTime(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : new Date(NaN);
}

export function parseBeta(body: string, date: string): ParseResult {
  const rows = body.split('\n').filter((l) => l.trim() !== '');
  const header = rows[0]?.split('|') ?? [];
  const trailer = rows.at(-1)?.split('|') ?? [];
  if (header[0] !== 'H' || header[1] !== 'BETA' || header[2] !== date.replaceAll('-', '')) return fail('beta: bad header');
  if (trailer[0] !== 'T' || rows.length < 2) return fail('beta: no trailer');
  const lines: BankLine[] = [];
  let sum = 0n;
  for (const [index, row] of rows.slice(1, -1).entries()) {
    const f = row.split('|');
    const service = services[f[3] ?? ''];
    const amount = parseDecimal(f[4] ?? '', 'CNY');
    const finishedAt = betaTime(f[7] ?? '');
    if (f.length !== 8 || f[0] !== 'D' || !service || amount === undefined || f[6] !== 'TRADE_SUCCESS' || Number.isNaN(finishedAt.getTime())) return fail(`beta: bad line ${index + 2}`);
    sum += amount;
    lines.push({ requestId: f[1]!, bankRef: f[2]!, service, amount, currency: f[5]!, finishedAt });
  }
  const count = String(lines.length);
  if (header[3] !== count || trailer[1] !== count) return fail('beta: line count differs from header or trailer');
  const total = parseDecimal(header[4] ?? '', 'CNY');
  if (total !== sum || parseDecimal(trailer[2] ?? '', 'CNY') !== sum) return fail('beta: amount total differs from header or trailer');
  return { ok: true, lines };
}

/** The parser of a bank's statement format; undefined for a bank we cannot read. */
export function parseStatement(bank: string, body: string, date: string): ParseResult {
  if (bank === 'alpha') return parseAlpha(body);
  if (bank === 'beta') return parseBeta(body, date);
  return fail(`no statement parser for bank ${bank}`);
}
