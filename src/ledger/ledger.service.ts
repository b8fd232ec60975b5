/**
 * The Ledger service: accounts, postings, holds, reversals, statements and the check. Postings
 * through the service go through the group-commit engine; `inTransaction(trx)` runs the very
 * same SQL inside a caller's transaction (the payment core's one-phase path), without batching.
 */
import { strict as assert } from 'node:assert';
import type pg from 'pg';
import type { Kysely, Transaction } from 'kysely';
import { intervalWorker, isCurrency, isId, newId, type Clock, type Config, type Logger, type Worker } from '../platform/index.js';
import * as accounts from './account.repository.js';
import { runCheck } from './check.repository.js';
import type { LedgerDB } from './ledger.table.js';
import type {
  Account,
  CheckReport,
  DailyBalance,
  FreezeInput,
  FreezeResult,
  Hold,
  HoldKey,
  OpenAccountInput,
  PostFromHoldInput,
  PostResult,
  ReleaseResult,
  Statement,
  VoucherInput,
} from './ledger.types.js';
import { PostingEngine, accountingDate } from './posting.engine.js';
import { accountsWithBuffered, foldAccount, freezeHold, postBatch, releaseHold, type BatchOutcome, type PreparedPosting } from './posting.repository.js';
import { isRetryable, kyselyExecutor, poolExecutor, type Executor } from './sql.executor.js';
import { freezeHash, prepareFromHold, prepareVoucher } from './voucher.prepare.js';
import { vouchersAfter, type FeedVoucher } from './voucher-feed.repository.js';

export interface LedgerOptions {
  readonly batchMax: number;
  readonly batchWaitMs: number;
  readonly flushers: number;
  readonly spreadMin: number;
  readonly foldIntervalMs: number;
  readonly foldBatch: number;
  readonly holdExpiryIntervalMs: number;
}

export const defaultLedgerOptions: LedgerOptions = {
  batchMax: 500,
  batchWaitMs: 0,
  flushers: 2,
  spreadMin: 8,
  foldIntervalMs: 200,
  foldBatch: 5_000,
  holdExpiryIntervalMs: 1_000,
};

/** The ledger's options from the platform configuration. */
export function ledgerOptionsFrom(config: Config): LedgerOptions {
  return {
    ...defaultLedgerOptions,
    batchMax: config.ledgerBatchMax,
    batchWaitMs: config.ledgerBatchWaitMs,
    flushers: config.ledgerFlushers,
    foldIntervalMs: config.ledgerFoldIntervalMs,
    holdExpiryIntervalMs: config.ledgerHoldExpiryIntervalMs,
  };
}

export interface LedgerDeps {
  readonly db: Kysely<LedgerDB>;
  /** The pool behind db: the engine sends its one statement per batch straight to it. */
  readonly pool?: pg.Pool;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options?: Partial<LedgerOptions>;
}

export type OpenAccountResult =
  | { readonly ok: true; readonly account: Account; readonly created: boolean }
  | { readonly ok: false; readonly error: 'invalid_account' | 'code_conflict' };

/** The money-moving operations; the same over the engine or inside a caller's transaction. */
export interface LedgerOperations {
  /** Posts a voucher; idempotent by (source, reference). */
  post(voucher: VoucherInput): Promise<PostResult>;
  /** Takes money from a hold (all of it or part) into the `to` accounts. */
  postFromHold(input: PostFromHoldInput): Promise<PostResult>;
  /** Posts the reversing voucher of a voucher; idempotent by its key (default: ledger.reversal / voucher id). */
  reverse(voucherId: string, key?: HoldKey, memo?: string): Promise<PostResult>;
  freeze(input: FreezeInput): Promise<FreezeResult>;
  release(key: HoldKey): Promise<ReleaseResult>;
}

type Submit = (posting: PreparedPosting) => Promise<BatchOutcome>;

function toPostResult(outcome: BatchOutcome): PostResult {
  switch (outcome.status) {
    case 'ok':
      return { ok: true, voucherId: outcome.voucherId, replayed: false };
    case 'replayed':
      return { ok: true, voucherId: outcome.voucherId, replayed: true };
    case 'retry_wide':
      assert.fail('retry_wide is handled by the engine');
    // eslint-disable-next-line no-fallthrough
    default:
      return outcome.detail ? { ok: false, error: outcome.status, accountId: outcome.detail } : { ok: false, error: outcome.status };
  }
}

/** The operations over one executor; `submit` is the engine or a direct single-voucher call. */
class Operations implements LedgerOperations {
  constructor(
    private readonly exec: Executor,
    private readonly submit: Submit,
    private readonly today: () => string,
  ) {}

  async post(voucher: VoucherInput): Promise<PostResult> {
    const prepared = prepareVoucher(voucher);
    if (!prepared.ok) return prepared.accountId ? { ok: false, error: prepared.error, accountId: prepared.accountId } : { ok: false, error: prepared.error };
    return toPostResult(await this.submit(prepared.posting));
  }

  async postFromHold(input: PostFromHoldInput): Promise<PostResult> {
    const prepared = prepareFromHold(input);
    if (!prepared.ok) return { ok: false, error: prepared.error };
    return toPostResult(await this.submit(prepared.posting));
  }

  async reverse(voucherId: string, key?: HoldKey, memo?: string): Promise<PostResult> {
    if (!isId(voucherId)) return { ok: false, error: 'voucher_not_found' };
    const original = await accounts.findVoucher(this.exec, voucherId);
    if (!original) return { ok: false, error: 'voucher_not_found' };
    // Net per account: a sub-account's slots and a hold's side fold into one line each.
    const net = new Map<string, bigint>();
    for (const entry of original.entries) net.set(entry.accountId, (net.get(entry.accountId) ?? 0n) - entry.amount);
    const entries = [...net].filter(([, amount]) => amount !== 0n).map(([accountId, amount]) => ({ accountId, amount }));
    const prepared = prepareVoucher(
      {
        source: key?.source ?? 'ledger.reversal',
        reference: key?.reference ?? voucherId,
        currency: original.currency,
        entries,
        memo: memo ?? `reversal of ${voucherId}`,
      },
      voucherId,
    );
    if (!prepared.ok) return { ok: false, error: prepared.error };
    return toPostResult(await this.submit(prepared.posting));
  }

  async freeze(input: FreezeInput): Promise<FreezeResult> {
    if (input.amount <= 0n || input.amount >= 1n << 60n) return { ok: false, error: 'invalid_amount' };
    if (!isId(input.accountId)) return { ok: false, error: 'unknown_account' };
    if (!isCurrency(input.currency) || !input.source || !input.reference) return { ok: false, error: 'currency_mismatch' };
    const call = {
      holdId: newId(),
      source: input.source,
      reference: input.reference,
      hash: freezeHash(input.accountId, input.currency, input.amount, input.expiresAt),
      accountId: input.accountId,
      currency: input.currency,
      amount: input.amount,
      expiresAt: input.expiresAt ?? null,
      accountingDate: this.today(),
    };
    const result = await freezeHold(this.exec, call);
    switch (result.status) {
      case 'ok':
      case 'replayed':
        return { ok: true, holdId: result.holdId!, replayed: result.status === 'replayed' };
      default:
        return { ok: false, error: result.status };
    }
  }

  async release(key: HoldKey): Promise<ReleaseResult> {
    const result = await releaseHold(this.exec, newId(), key, null);
    switch (result.status) {
      case 'released':
      case 'cancelled_before_try':
        return { ok: true, holdId: result.holdId!, status: result.status, replayed: false };
      case 'replayed': {
        const hold = await accounts.findHold(this.exec, key);
        assert(hold && (hold.status === 'released' || hold.status === 'cancelled_before_try'));
        return { ok: true, holdId: hold.id, status: hold.status, replayed: true };
      }
      case 'hold_already_posted':
        return { ok: false, error: 'hold_already_posted' };
      case 'not_expired':
        assert.fail('not_expired only answers the expiry worker');
    }
  }
}

/** Runs one freeze/release again if it lost a race on its key with another process. */
function retrying(exec: Executor): Executor {
  return async (text, values, name) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await exec(text, values, name);
      } catch (error) {
        if (!isRetryable(error) || attempt >= 3) throw error;
      }
    }
  };
}

export class Ledger implements LedgerOperations {
  private readonly exec: Executor;
  private readonly engine: PostingEngine;
  private readonly ops: Operations;
  readonly options: LedgerOptions;

  constructor(private readonly deps: LedgerDeps) {
    this.options = { ...defaultLedgerOptions, ...deps.options };
    this.exec = deps.pool ? poolExecutor(deps.pool) : kyselyExecutor<LedgerDB>(deps.db);
    this.engine = new PostingEngine(this.exec, deps.clock, deps.logger, {
      batchMax: this.options.batchMax,
      batchWaitMs: this.options.batchWaitMs,
      flushers: this.options.flushers,
      spreadMin: this.options.spreadMin,
      retryMax: 8,
    });
    this.ops = new Operations(retrying(this.exec), (posting) => this.engine.submit(posting), () => accountingDate(deps.clock));
  }

  post(voucher: VoucherInput): Promise<PostResult> {
    return this.ops.post(voucher);
  }
  postFromHold(input: PostFromHoldInput): Promise<PostResult> {
    return this.ops.postFromHold(input);
  }
  reverse(voucherId: string, key?: HoldKey, memo?: string): Promise<PostResult> {
    return this.ops.reverse(voucherId, key, memo);
  }
  freeze(input: FreezeInput): Promise<FreezeResult> {
    return this.ops.freeze(input);
  }
  release(key: HoldKey): Promise<ReleaseResult> {
    return this.ops.release(key);
  }

  /**
   * The same operations inside a caller's transaction, one voucher per statement, no batching.
   * A lost race on a key surfaces as the database error: the caller's transaction must run again.
   */
  inTransaction<DB>(trx: Transaction<DB> | Kysely<DB>): LedgerOperations {
    const exec = kyselyExecutor(trx);
    const clock = this.deps.clock;
    const direct: Submit = async (posting) => {
      let [outcome] = await postBatch(exec, [posting], [false], accountingDate(clock), Math.floor(Math.random() * 1_000_000));
      if (outcome!.status === 'retry_wide') [outcome] = await postBatch(exec, [posting], [true], accountingDate(clock), 0);
      return outcome!;
    };
    return new Operations(exec, direct, () => accountingDate(clock));
  }

  async openAccount(input: OpenAccountInput): Promise<OpenAccountResult> {
    const hot = input.hot ?? 'none';
    const subCount = hot === 'sub_accounts' ? (input.subCount ?? 8) : 0;
    const defaultFloor = input.type === 'member' || input.type === 'merchant' ? 0n : null;
    const floor = input.floor === undefined ? defaultFloor : input.floor;
    if (!isCurrency(input.currency) || (hot === 'sub_accounts' && (subCount < 1 || subCount > 64)) || (floor !== null && floor > 0n)) {
      return { ok: false, error: 'invalid_account' };
    }
    const id = newId();
    const code = input.code ?? null;
    const created = await accounts.insertAccount(this.exec, { id, type: input.type, currency: input.currency, code, owner: input.owner ?? null, floor, hot, subCount });
    const account = created ? await accounts.findAccount(this.exec, id) : await accounts.findAccountByCode(this.exec, code!);
    assert(account, 'an inserted or conflicting account exists');
    if (!created && (account.type !== input.type || account.currency !== input.currency)) return { ok: false, error: 'code_conflict' };
    return { ok: true, account, created };
  }

  getAccount(id: string): Promise<Account | undefined> {
    return isId(id) ? accounts.findAccount(this.exec, id) : Promise.resolve(undefined);
  }

  getAccountByCode(code: string): Promise<Account | undefined> {
    return accounts.findAccountByCode(this.exec, code);
  }

  /** The true balance: posted, frozen, available, buffered entries included. */
  async balance(id: string): Promise<{ posted: bigint; frozen: bigint; available: bigint; currency: string } | undefined> {
    const account = await this.getAccount(id);
    return account && { posted: account.posted, frozen: account.frozen, available: account.available, currency: account.currency };
  }

  /** Entries newest first, `limit` (1..100) per page; pass the previous page's nextCursor as `after`. */
  async statement(accountId: string, page: { limit?: number; after?: string } = {}): Promise<Statement | undefined> {
    if (!isId(accountId) || (page.after !== undefined && !/^\d{1,19}$/.test(page.after))) return undefined;
    const limit = Math.min(Math.max(page.limit ?? 20, 1), 100);
    const lines = await accounts.statementLines(this.exec, accountId, limit + 1, page.after ?? null);
    const more = lines.length > limit;
    const shown = lines.slice(0, limit);
    return { lines: shown, nextCursor: more ? shown[shown.length - 1]!.entryId : undefined, buffered: await accounts.countBuffered(this.exec, accountId) };
  }

  /** The balance of one accounting day (YYYY-MM-DD); closed days are kept once computed. */
  async dailyBalance(accountId: string, date: string): Promise<DailyBalance | undefined> {
    if (!isId(accountId) || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
    const stored = await accounts.findDailyBalance(this.exec, accountId, date);
    if (stored) return stored;
    if (!(await accounts.findAccount(this.exec, accountId))) return undefined;
    const computed = await accounts.computeDailyBalance(this.exec, accountId, date);
    if (date < accountingDate(this.deps.clock)) await accounts.storeDailyBalance(this.exec, computed);
    return computed;
  }

  getHold(key: HoldKey): Promise<Hold | undefined> {
    return accounts.findHold(this.exec, key);
  }

  getVoucher(id: string): Promise<accounts.StoredVoucher | undefined> {
    return isId(id) ? accounts.findVoucher(this.exec, id) : Promise.resolve(undefined);
  }

  /**
   * The change feed: up to `limit` (1..1000) vouchers with seq > afterSeq, oldest first. seq is
   * insert order, not commit order: a gap may be a voucher still committing (or one rolled back).
   */
  vouchersAfter(afterSeq: bigint, limit = 500): Promise<FeedVoucher[]> {
    return vouchersAfter(this.exec, afterSeq, Math.min(Math.max(limit, 1), 1_000));
  }

  /** Every invariant of the ledger, over one consistent snapshot. */
  async check(): Promise<CheckReport> {
    return this.deps.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute((trx) => runCheck(kyselyExecutor<LedgerDB>(trx)));
  }

  /** One folder pass: buffered entries into the balances. Returns how many entries moved. */
  async fold(): Promise<number> {
    let moved = 0;
    for (const accountId of await accountsWithBuffered(this.exec, 100)) moved += await foldAccount(this.exec, accountId, this.options.foldBatch);
    return moved;
  }

  /** Releases holds past their expiry (by the injected clock). Returns how many. */
  async releaseExpiredHolds(limit = 100): Promise<number> {
    const now = this.deps.clock.now();
    let released = 0;
    for (const key of await accounts.expiredHolds(this.exec, now, limit)) {
      const result = await releaseHold(this.exec, newId(), key, now);
      if (result.status === 'released') released += 1;
    }
    return released;
  }

  /** The folder and the hold-expiry worker, for the runtime to start. */
  workers(): Worker[] {
    return [
      intervalWorker('ledger-folder', this.options.foldIntervalMs, this.deps.logger, async () => (await this.fold()) >= this.options.foldBatch),
      intervalWorker('ledger-hold-expiry', this.options.holdExpiryIntervalMs, this.deps.logger, async () => (await this.releaseExpiredHolds()) >= 100),
    ];
  }

  /** The posting engine's counters: batches, vouchers in them, retried batches. */
  engineStats(): { batches: number; vouchers: number; retries: number } {
    return { ...this.engine.stats };
  }

  /** Waits for the postings in flight. */
  close(): Promise<void> {
    return this.engine.close();
  }
}

export function createLedger(deps: LedgerDeps): Ledger {
  return new Ledger(deps);
}
