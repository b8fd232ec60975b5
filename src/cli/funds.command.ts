/**
 * `paycore recon run`, `paycore day-close`, `paycore report <trial-balance|balance-sheet|income-statement>`:
 * the funds side's operator commands, over the same database as a running server.
 */
import { parseArgs } from 'node:util';
import { amountsToJson, type TrialBalance } from '../funds/index.js';
import { formatDecimal, type Config } from '../platform/index.js';
import type { Runtime } from '../runtime/index.js';

type WithRuntime = <T>(fn: (runtime: Runtime) => Promise<T>) => Promise<T>;
type Fail = (message: string) => never;

const datePattern = /^\d{4}-\d{2}-\d{2}$/;

function dateArg(args: string[], fail: Fail): { date: string; json: boolean; values: Record<string, string | boolean | undefined> } {
  const { values } = parseArgs({ args, options: { date: { type: 'string' }, bank: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (!values.date || !datePattern.test(values.date)) fail('--date YYYY-MM-DD is required');
  return { date: values.date, json: values.json ?? false, values };
}

function out(json: boolean, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(amountsToJson(value))}\n` : `${human}\n`);
}

function trialBalanceText(tb: TrialBalance): string {
  const lines = [`trial balance ${tb.date}${tb.final ? ' (closed)' : ' (open: may still change)'} — ${tb.balanced ? 'balanced' : 'NOT BALANCED'}`];
  for (const [currency, c] of Object.entries(tb.currencies)) {
    lines.push(`  ${currency}  subject                                   opening        debits       credits       closing   (credit +, debit -)`);
    for (const l of c.lines) lines.push(`  ${l.subject}  ${l.name.padEnd(38)} ${[l.opening, l.debits, l.credits, l.closing].map((a) => formatDecimal(a).padStart(13)).join(' ')}`);
    lines.push(`  total${' '.repeat(55)}${formatDecimal(c.debits).padStart(13)} ${formatDecimal(c.credits).padStart(13)} ${formatDecimal(c.closingSum).padStart(13)}`);
  }
  return lines.join('\n');
}

export async function runFundsCommand(command: string, args: string[], _config: Config, withRuntime: WithRuntime, fail: Fail): Promise<void> {
  if (command === 'recon') {
    if (args[0] !== 'run') fail('usage: paycore recon run --bank B --date D [--json]');
    const { date, json, values } = dateArg(args.slice(1), fail);
    const bank = values.bank;
    if (typeof bank !== 'string') fail('--bank is required');
    const result = await withRuntime((runtime) => runtime.funds.recon.run(bank, date, 'cli'));
    if (!result.ok) fail(`reconciliation failed: ${result.error} (${result.detail})`);
    const r = result.run;
    const open = result.discrepancies.filter((d) => d.status === 'open');
    out(json, result, [`recon ${bank} ${date}: ${r.lines} statement lines, ${r.matched} matched, ${r.ours_only} ours only, ${r.theirs_only} theirs only, ${r.amount_differs} amount differs; settled ${formatDecimal(r.settled_amount)}`, ...open.map((d) => `  open ${d.id} ${d.kind} ${d.request_id} ours=${d.our_amount ?? '-'} theirs=${d.their_amount ?? '-'}`)].join('\n'));
    return;
  }
  if (command === 'day-close') {
    const { date, json } = dateArg(args, fail);
    const result = await withRuntime((runtime) => runtime.funds.accounting.closeDay(date, 'cli'));
    if (!result.ok) fail(`day close refused: ${result.error}${result.date ? ` (${result.date})` : ''}`);
    out(json, result, `${result.replayed ? 'already closed' : 'closed'} ${date}\n${trialBalanceText(result.trialBalance)}`);
    return;
  }
  if (command === 'report') {
    const kind = args[0];
    const { date, json } = dateArg(args.slice(1), fail);
    if (kind === 'trial-balance') {
      const tb = await withRuntime((runtime) => runtime.funds.accounting.trialBalance(date));
      return out(json, tb, trialBalanceText(tb));
    }
    if (kind === 'balance-sheet') {
      const bs = await withRuntime((runtime) => runtime.funds.accounting.balanceSheet(date));
      const text = Object.entries(bs.currencies).map(([cur, c]) => [`balance sheet ${date} ${cur}${bs.final ? ' (closed)' : ' (open)'}`, ...c.lines.map((l) => `  ${l.subject} ${l.name.padEnd(38)} ${formatDecimal(l.amount).padStart(14)}`), `  assets ${formatDecimal(c.assets)} = liabilities ${formatDecimal(c.liabilities)} + equity ${formatDecimal(c.equity)} + retained earnings ${formatDecimal(c.retainedEarnings)}${c.balanced ? '' : '  NOT BALANCED'}`].join('\n'));
      return out(json, bs, text.join('\n') || `balance sheet ${date}: no postings`);
    }
    if (kind === 'income-statement') {
      const is = await withRuntime((runtime) => runtime.funds.accounting.incomeStatement(date));
      const text = Object.entries(is.currencies).map(([cur, c]) => [`income statement ${date} ${cur}${is.final ? ' (closed)' : ' (open)'}`, ...c.lines.map((l) => `  ${l.subject} ${l.name.padEnd(38)} ${formatDecimal(l.amount).padStart(14)}`), `  income ${formatDecimal(c.income)} - expenses ${formatDecimal(c.expenses)} = net ${formatDecimal(c.net)}`].join('\n'));
      return out(json, is, text.join('\n') || `income statement ${date}: no postings`);
    }
    fail('usage: paycore report trial-balance|balance-sheet|income-statement --date D [--json]');
  }
}
