/**
 * External reconciliation and clearing. A run reads a bank's statement for a day, matches it line
 * by line (by our channel order id, the bank's request id) to our successful channel orders:
 * matched, ours only, theirs only, amount differs. Matched orders clear: one settlement voucher
 * per run moves their net from the bank's receivable (`channel:<bank>:<cur>`) into our deposit at
 * that bank (`bank-deposit:<bank>:<cur>`) — the real fund flow. Every difference goes to the
 * discrepancy queue with a proposed correcting voucher that an operator may accept.
 */
import { strict as assert } from 'node:assert';
import { sql, type Insertable, type Kysely } from 'kysely';
import type { ChannelOrder, ResultCursor } from '../channel/index.js';
import type { BusEvent } from '../events/index.js';
import type { Ledger } from '../ledger/index.js';
import { isId, newId, sha256Hex, type Logger } from '../platform/index.js';
import type { FundAccounts } from './fund-accounts.js';
import type { ClearingItemTable, DiscrepancyKind, DiscrepancyRow, FundsDB, ReconRunRow } from './funds.table.js';
import { fundsAccountCodes } from './gl-subject.js';
import { parseStatement, type BankLine } from './statement.parser.js';

/** What reconciliation reads of the channel gateway (its public methods). */
export interface ChannelOrderSource {
  pollResults(cursor: ResultCursor | undefined, limit?: number): Promise<{ orders: ChannelOrder[]; cursor: ResultCursor | undefined }>;
  getOrder(id: string): Promise<ChannelOrder | undefined>;
}

/** Where a bank's statement file comes from (the simulator's HTTP endpoint by default). */
export type StatementSource = (bank: string, date: string) => Promise<{ ok: true; fileName: string; body: string } | { ok: false; error: string }>;

export interface ProposedEntry {
  readonly code: string;
  readonly amount: string;
}

export interface Proposal {
  readonly memo: string;
  readonly entries: ProposedEntry[];
}

export type ReconRunResult =
  | { readonly ok: true; readonly run: ReconRunRow; readonly discrepancies: DiscrepancyRow[] }
  | { readonly ok: false; readonly error: 'unknown_bank' | 'statement_unavailable' | 'statement_malformed'; readonly detail: string };

export type AcceptResult =
  | { readonly ok: true; readonly discrepancy: DiscrepancyRow; readonly replayed: boolean }
  | { readonly ok: false; readonly error: 'not_found' | 'ledger_refused'; readonly detail?: string };

const pageMax = 1_000;
const pagesMax = 10_000;
const statementTimeoutMs = 15_000;

/** The simulator's statement endpoint: GET <bank url>/sim/statements/<date>. */
export function httpStatementSource(banks: Record<string, { url: string }>): StatementSource {
  return async (bank, date) => {
    const base = banks[bank]?.url;
    if (!base) return { ok: false, error: `no URL for bank ${bank}` };
    try {
      const response = await fetch(`${base}/sim/statements/${date}`, { signal: AbortSignal.timeout(statementTimeoutMs) });
      const body = await response.text();
      if (response.status !== 200) return { ok: false, error: `bank answered ${response.status}` };
      const fileName = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `${bank}-${date}`;
      return { ok: true, fileName, body };
    } catch (error) {
      return { ok: false, error: String(error) };
    }
  };
}

/** +1 when the bank owes us (a payment), −1 when we owe it (a refund or payout it paid for us). */
export function direction(service: string): bigint {
  return service === 'pay' ? 1n : -1n;
}

/** The correcting voucher proposed for a difference (ledger signs; zero lines dropped). */
export function proposeCorrection(kind: DiscrepancyKind, bank: string, currency: string, service: string, ours: bigint | null, theirs: bigint | null): Proposal {
  const d = direction(service);
  const channel = fundsAccountCodes.channel(bank, currency);
  const deposit = fundsAccountCodes.bankDeposit(bank, currency);
  const suspense = fundsAccountCodes.suspense(currency);
  let lines: Array<[string, bigint]>;
  let memo: string;
  switch (kind) {
    case 'ours_only':
      memo = 'the bank did not settle this order: its receivable goes to suspense pending investigation';
      lines = [[channel, d * ours!], [suspense, -d * ours!]];
      break;
    case 'theirs_only':
      memo = 'the bank settled a transaction we have no success for: its money goes to suspense pending investigation';
      lines = [[deposit, -d * theirs!], [suspense, d * theirs!]];
      break;
    case 'amount_differs':
      memo = 'clear the receivable at the bank figure; the difference goes to suspense';
      lines = [[channel, d * ours!], [deposit, -d * theirs!], [suspense, d * (theirs! - ours!)]];
      break;
  }
  return { memo, entries: lines.filter(([, amount]) => amount !== 0n).map(([code, amount]) => ({ code, amount: amount.toString() })) };
}

interface Classified {
  readonly matched: ChannelOrder[];
  readonly differences: Array<{ kind: DiscrepancyKind; requestId: string; service: string; ours: bigint | null; theirs: bigint | null; currency: string }>;
}

export class Reconciliation {
  constructor(
    private readonly db: Kysely<FundsDB>,
    private readonly ledger: Ledger,
    private readonly accounts: FundAccounts,
    private readonly channel: () => ChannelOrderSource,
    private readonly statements: StatementSource,
    private readonly banks: readonly string[],
    private readonly logger: Logger,
  ) {}

  /** The clearing consumer: every channel success becomes an open clearing item. */
  async onChannelSucceeded(event: BusEvent, trx: Kysely<FundsDB>): Promise<void> {
    await this.onChannelSucceededMany([event], trx);
  }

  /** Several channel successes in one statement; an order already cleared (or twice in the batch) keeps its first item. */
  async onChannelSucceededMany(events: readonly BusEvent[], trx: Kysely<FundsDB>): Promise<void> {
    const items = new Map<string, Insertable<ClearingItemTable>>();
    for (const event of events) {
      const p = event.payload as Record<string, string | null>;
      if (!p.id || !p.service || !p.bank || !p.amount || items.has(p.id)) continue;
      items.set(p.id, {
        order_id: p.id,
        instruction_id: p.instruction_id ?? '',
        bank: p.bank,
        service: p.service as 'pay' | 'refund' | 'payout',
        amount: BigInt(p.amount),
        currency: p.currency ?? 'CNY',
        bank_ref: p.bank_ref ?? null,
        finished_at: p.finished_at ? new Date(p.finished_at) : null,
        cleared_by: null,
      });
    }
    if (items.size === 0) return;
    await trx.insertInto('funds.clearing_item').values([...items.values()]).onConflict((oc) => oc.column('order_id').doNothing()).execute();
  }

  /** Reconciles one bank's statement of one day (UTC). A run may be repeated; each difference is queued once. */
  async run(bank: string, date: string, by: string): Promise<ReconRunResult> {
    if (!this.banks.includes(bank)) return { ok: false, error: 'unknown_bank', detail: bank };
    await this.finishClearing();
    const file = await this.statements(bank, date);
    if (!file.ok) return { ok: false, error: 'statement_unavailable', detail: file.error };
    const parsed = parseStatement(bank, file.body, date);
    if (!parsed.ok) return { ok: false, error: 'statement_malformed', detail: parsed.error };
    const ours = await this.ourOrders(bank, date);
    const classified = await this.classify(bank, parsed.lines, ours);
    const runId = newId();
    const discrepancies = await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('funds.recon_run')
        .values({
          id: runId,
          bank,
          date,
          file_name: file.fileName,
          body_sha256: sha256Hex(file.body),
          lines: parsed.lines.length,
          matched: classified.matched.length,
          ours_only: classified.differences.filter((d) => d.kind === 'ours_only').length,
          theirs_only: classified.differences.filter((d) => d.kind === 'theirs_only').length,
          amount_differs: classified.differences.filter((d) => d.kind === 'amount_differs').length,
          settled_amount: 0n,
          status: 'clearing',
          settlement_voucher_id: null,
          created_by: by,
          finished_at: null,
        })
        .execute();
      const queued = classified.differences.length === 0 ? [] : await trx
        .insertInto('funds.discrepancy')
        .values(
          classified.differences.map((d) => ({
            id: newId(),
            run_id: runId,
            bank,
            date,
            kind: d.kind,
            request_id: d.requestId,
            service: d.service,
            our_amount: d.ours,
            their_amount: d.theirs,
            currency: d.currency,
            proposal: JSON.stringify(proposeCorrection(d.kind, bank, d.currency, d.service, d.ours, d.theirs)),
            voucher_id: null,
            accepted_by: null,
            accepted_at: null,
          })),
        )
        .onConflict((oc) => oc.columns(['bank', 'date', 'kind', 'request_id']).doNothing())
        .returning('id')
        .execute();
      const settled = await this.clear(trx, runId, classified.matched);
      await trx.updateTable('funds.recon_run').set({ settled_amount: settled }).where('id', '=', runId).execute();
      return queued.map((q) => q.id);
    });
    await this.settle(runId);
    const run = await this.db.selectFrom('funds.recon_run').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    const rows = await this.db.selectFrom('funds.discrepancy').selectAll().where('bank', '=', bank).where('date', '=', date).orderBy('created_at').orderBy('id').execute();
    this.logger.info({ bank, date, run: runId, matched: run.matched, queued: discrepancies.length }, 'reconciliation run');
    return { ok: true, run: fixDate(run), discrepancies: rows.map(fixDate) };
  }

  /** Our successful orders with this bank that finished on the day, from the gateway (oldest first, bounded). */
  private async ourOrders(bank: string, date: string): Promise<Map<string, ChannelOrder>> {
    const start = Date.parse(`${date}T00:00:00.000Z`);
    const end = start + 86_400_000;
    const found = new Map<string, ChannelOrder>();
    let cursor: ResultCursor | undefined = { finishedAt: new Date(start - 1), id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' };
    for (let page = 0; page < pagesMax; page += 1) {
      const { orders, cursor: next } = await this.channel().pollResults(cursor, pageMax);
      for (const order of orders) {
        const at = order.finishedAt?.getTime() ?? 0;
        if (at >= start && at < end && order.bank === bank && order.status === 'success') found.set(order.id, order);
      }
      const last = orders.at(-1);
      if (!last || (last.finishedAt?.getTime() ?? 0) >= end || orders.length < pageMax) return found;
      cursor = next;
    }
    throw new Error('too many channel orders on one day for one reconciliation run');
  }

  private async classify(bank: string, lines: readonly BankLine[], ours: Map<string, ChannelOrder>): Promise<Classified> {
    const matched: ChannelOrder[] = [];
    const differences: Classified['differences'] = [];
    const seen = new Set<string>();
    for (const line of lines) {
      // An order that finished on our side on the day before or after is still ours.
      let order = ours.get(line.requestId);
      if (!order && isId(line.requestId)) {
        const other = await this.channel().getOrder(line.requestId);
        if (other && other.bank === bank && other.status === 'success') order = other;
      }
      if (!order || seen.has(order.id)) {
        differences.push({ kind: 'theirs_only', requestId: line.requestId, service: line.service, ours: null, theirs: line.amount, currency: line.currency });
        continue;
      }
      seen.add(order.id);
      if (order.amount === line.amount && order.currency === line.currency && order.service === line.service) matched.push(order);
      else differences.push({ kind: 'amount_differs', requestId: order.id, service: order.service, ours: order.amount, theirs: line.amount, currency: order.currency });
    }
    for (const order of ours.values()) {
      if (!seen.has(order.id)) differences.push({ kind: 'ours_only', requestId: order.id, service: order.service, ours: order.amount, theirs: null, currency: order.currency });
    }
    return { matched, differences };
  }

  /** Marks matched orders cleared by this run (once each); returns the net the bank settles to us. */
  private async clear(trx: Kysely<FundsDB>, runId: string, matched: readonly ChannelOrder[]): Promise<bigint> {
    if (matched.length === 0) return 0n;
    const cleared = await trx
      .insertInto('funds.clearing_item')
      .values(
        matched.map((o) => ({
          order_id: o.id,
          instruction_id: o.instructionId,
          bank: o.bank,
          service: o.service,
          amount: o.amount,
          currency: o.currency,
          bank_ref: o.bankRef,
          finished_at: o.finishedAt,
          status: 'cleared' as const,
          cleared_by: runId,
        })),
      )
      .onConflict((oc) => oc.column('order_id').doUpdateSet({ status: 'cleared', cleared_by: runId }).where('funds.clearing_item.status', '=', 'open'))
      .returning(['service', 'amount'])
      .execute();
    return cleared.reduce((sum, c) => sum + direction(c.service) * c.amount, 0n);
  }

  /** Posts a run's settlement voucher (idempotent by the run id) and marks the run done. */
  private async settle(runId: string): Promise<void> {
    const run = await this.db.selectFrom('funds.recon_run').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    if (run.status === 'done') return;
    let voucherId: string | null = null;
    if (run.settled_amount !== 0n) {
      const currency = 'CNY';
      const posted = await this.ledger.post({
        source: 'funds.settlement',
        reference: runId,
        currency,
        entries: [
          { accountId: await this.accounts.idOf(fundsAccountCodes.channel(run.bank, currency)), amount: run.settled_amount },
          { accountId: await this.accounts.idOf(fundsAccountCodes.bankDeposit(run.bank, currency)), amount: -run.settled_amount },
        ],
        memo: `settlement of ${run.bank} for ${String(run.date)}`,
      });
      assert(posted.ok, `settlement voucher refused: ${posted.ok ? '' : posted.error}`);
      voucherId = posted.voucherId;
    }
    await this.db.updateTable('funds.recon_run').set({ status: 'done', settlement_voucher_id: voucherId, finished_at: sql`now()` }).where('id', '=', runId).where('status', '=', 'clearing').execute();
  }

  /** Finishes runs a crash left between clearing and their settlement voucher. */
  async finishClearing(): Promise<void> {
    const stuck = await this.db.selectFrom('funds.recon_run').select('id').where('status', '=', 'clearing').limit(100).execute();
    for (const run of stuck) await this.settle(run.id);
  }

  /** Accepts a discrepancy's proposed correction: posts it (idempotent by the discrepancy id) and closes it. */
  async accept(id: string, by: string): Promise<AcceptResult> {
    if (!isId(id)) return { ok: false, error: 'not_found' };
    const row = await this.db.selectFrom('funds.discrepancy').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return { ok: false, error: 'not_found' };
    if (row.status === 'accepted') return { ok: true, discrepancy: fixDate(row), replayed: true };
    const proposal = row.proposal as Proposal;
    const entries = [];
    for (const e of proposal.entries) entries.push({ accountId: await this.accounts.idOf(e.code), amount: BigInt(e.amount) });
    const posted = await this.ledger.post({ source: 'funds.correction', reference: id, currency: row.currency, entries, memo: proposal.memo });
    if (!posted.ok) return { ok: false, error: 'ledger_refused', detail: posted.error };
    const updated = await this.db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable('funds.discrepancy')
        .set({ status: 'accepted', voucher_id: posted.voucherId, accepted_by: by, accepted_at: sql`now()` })
        .where('id', '=', id)
        .where('status', '=', 'open')
        .returningAll()
        .executeTakeFirst();
      if (moved && row.kind !== 'theirs_only' && isId(row.request_id)) {
        await trx.updateTable('funds.clearing_item').set({ status: 'corrected', cleared_by: id }).where('order_id', '=', row.request_id).where('status', '=', 'open').execute();
      }
      return moved;
    });
    const final = updated ?? (await this.db.selectFrom('funds.discrepancy').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    return { ok: true, discrepancy: fixDate(final), replayed: !updated };
  }

  async listRuns(filter: { bank?: string; date?: string; limit: number }): Promise<ReconRunRow[]> {
    let query = this.db.selectFrom('funds.recon_run').selectAll().orderBy('created_at', 'desc').limit(filter.limit);
    if (filter.bank) query = query.where('bank', '=', filter.bank);
    if (filter.date) query = query.where('date', '=', filter.date);
    return (await query.execute()).map(fixDate);
  }

  async listDiscrepancies(filter: { status?: 'open' | 'accepted'; bank?: string; date?: string; limit: number }): Promise<DiscrepancyRow[]> {
    let query = this.db.selectFrom('funds.discrepancy').selectAll().orderBy('created_at').orderBy('id').limit(filter.limit);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.bank) query = query.where('bank', '=', filter.bank);
    if (filter.date) query = query.where('date', '=', filter.date);
    return (await query.execute()).map(fixDate);
  }
}

/** `date` columns come back from pg as local-midnight Dates; the funds side speaks YYYY-MM-DD. */
export function fixDate<T extends { date: unknown }>(row: T): T {
  const d = row.date as unknown;
  if (d instanceof Date) {
    const local = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    return { ...row, date: local };
  }
  return row;
}
