/**
 * Marketing: coupons and red packets funded from the platform's marketing account, and the TCC
 * participant that lets the payment core use them. Issuing writes the tool 'issuing', posts its
 * money (marketing −X, marketing-issued +X, keyed by the tool id, so a repeat posts nothing), then
 * makes it 'available'; a crash in between is finished by the repair pass. Expired unused tools
 * give their money back the same way (keyed by the tool id).
 */
import { strict as assert } from 'node:assert';
import { sql, type Kysely, type Transaction } from 'kysely';
import { emit } from '../events/index.js';
import type { Ledger } from '../ledger/index.js';
import type { MemberService } from '../member/index.js';
import { AppError, intervalWorker, isId, newId, systemContext, type Clock, type Config, type Logger, type PlatformContext, type Worker } from '../platform/index.js';
import type { MarketingDB, ToolKind, ToolRow } from './marketing.table.js';
import {
  issuedAccountCode,
  marketingAccountCode,
  marketingCurrency,
  toPaymentTool,
  type MarketingParticipant,
  type PaymentTool,
  type TryReserveInput,
  type TryReserveResult,
} from './payment-tool.js';
import * as participant from './tcc-fence.participant.js';

export interface MarketingOptions {
  readonly expiryIntervalMs: number;
  /** How long a tool may stay 'issuing' before the repair pass finishes it. */
  readonly repairAfterMs: number;
  /** How long finished TCC fence rows (and tombstones) are kept. */
  readonly fenceRetentionMs: number;
}

export interface MarketingDeps {
  readonly db: Kysely<MarketingDB>;
  readonly ledger: Ledger;
  readonly members: MemberService;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: MarketingOptions;
}

export interface IssueInput {
  readonly kind: ToolKind;
  readonly memberId: string;
  readonly amount: bigint;
  readonly expiresAt?: Date;
}

export type IssueResult = { readonly ok: true; readonly tool: PaymentTool } | { readonly ok: false; readonly reason: 'member_not_found' | 'already_expired' };

const batch = 100;
const purgeBatch = 1_000;

export class MarketingService implements MarketingParticipant {
  private accounts: Promise<{ marketing: string; issued: string }> | undefined;

  /** The options from the platform configuration. */
  static optionsFrom(config: Config): MarketingOptions {
    return { expiryIntervalMs: config.marketingExpiryIntervalMs, repairAfterMs: 30_000, fenceRetentionMs: 7 * 86_400_000 };
  }

  constructor(private readonly deps: MarketingDeps) {}

  /** Issues a tool to a member of ctx.client; throws NOT_FOUND for another client's member. */
  async issue(ctx: PlatformContext, input: IssueInput): Promise<PaymentTool> {
    const result = await this.issueTool(ctx, input);
    if (!result.ok) {
      throw result.reason === 'member_not_found' ? new AppError('NOT_FOUND', { member_id: input.memberId }) : new AppError('INVALID_REQUEST', { expires_at: 'must be in the future' });
    }
    return result.tool;
  }

  async issueTool(ctx: PlatformContext, input: IssueInput): Promise<IssueResult> {
    assert(input.amount > 0n, 'a tool is worth more than nothing');
    const member = await this.deps.members.get(ctx.client, input.memberId);
    if (!member) return { ok: false, reason: 'member_not_found' };
    const now = this.deps.clock.now();
    if (input.expiresAt && input.expiresAt <= now) return { ok: false, reason: 'already_expired' };
    const row = await this.deps.db
      .insertInto('marketing.tool')
      .values({ id: newId(), client_id: ctx.client, member_id: member.id, kind: input.kind, amount: input.amount, currency: marketingCurrency, status: 'issuing', expires_at: input.expiresAt ?? null, reserved_by: null, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ok: true, tool: await this.finishIssue(ctx, row) };
  }

  async get(clientId: string, id: string): Promise<PaymentTool | undefined> {
    if (!isId(id) || !isId(clientId)) return undefined;
    const row = await this.deps.db.selectFrom('marketing.tool').selectAll().where('id', '=', id).where('client_id', '=', clientId).executeTakeFirst();
    return row && toPaymentTool(row);
  }

  /** A member's available (unexpired) coupons and red packets, biggest first (the cashier lists them). */
  async availableFor(clientId: string, memberId: string, limit = 50): Promise<PaymentTool[]> {
    if (!isId(memberId) || !isId(clientId)) return [];
    const now = this.deps.clock.now();
    const rows = await this.deps.db
      .selectFrom('marketing.tool')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('member_id', '=', memberId)
      .where('status', '=', 'available')
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .orderBy('amount', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toPaymentTool).filter((tool): tool is PaymentTool => tool !== undefined);
  }

  /** The ledger account behind outstanding tools: `platform:marketing-issued:CNY`. */
  async issuedAccountId(): Promise<string> {
    return (await this.platformAccounts()).issued;
  }

  /** The marketing budget: `platform:marketing:CNY`. */
  async marketingAccountId(): Promise<string> {
    return (await this.platformAccounts()).marketing;
  }

  tryReserve(input: TryReserveInput & { readonly ctx?: PlatformContext }): Promise<TryReserveResult> {
    return this.deps.db.transaction().execute((trx) => participant.tryReserve(trx, this.deps.clock, input.ctx ?? tccContext(input.activity), input));
  }

  confirm(activity: string, toolId: string, ctx?: PlatformContext): Promise<void> {
    return this.deps.db.transaction().execute((trx) => participant.confirm(trx, this.deps.clock, ctx ?? tccContext(activity), activity, toolId));
  }

  cancel(activity: string, toolId: string, ctx?: PlatformContext): Promise<void> {
    return this.deps.db.transaction().execute((trx) => participant.cancel(trx, this.deps.clock, ctx ?? tccContext(activity), activity, toolId));
  }

  /** The same participant inside the caller's transaction (the one-phase path: one database). */
  inTransaction<DB>(trx: Transaction<DB>): MarketingParticipant {
    assert(trx.isTransaction, 'inTransaction needs a transaction');
    const t = trx as unknown as Transaction<MarketingDB>;
    const clock = this.deps.clock;
    return {
      tryReserve: (input: TryReserveInput & { readonly ctx?: PlatformContext }) => participant.tryReserve(t, clock, input.ctx ?? tccContext(input.activity), input),
      confirm: (activity: string, toolId: string, ctx?: PlatformContext) => participant.confirm(t, clock, ctx ?? tccContext(activity), activity, toolId),
      cancel: (activity: string, toolId: string, ctx?: PlatformContext) => participant.cancel(t, clock, ctx ?? tccContext(activity), activity, toolId),
    };
  }

  /** Marks unused tools past their expiry 'expired'; returns how many. Their money goes back in returnExpired. */
  async expireDue(): Promise<number> {
    const now = this.deps.clock.now();
    const ctx = systemContext(newId());
    return this.deps.db.transaction().execute(async (trx) => {
      const due = trx.selectFrom('marketing.tool').select('id').where('status', '=', 'available').where('expires_at', '<=', now).limit(batch).forUpdate().skipLocked();
      const expired = await trx.updateTable('marketing.tool').set({ status: 'expired', updated_at: now }).where('id', 'in', due).where('status', '=', 'available').returningAll().execute();
      if (expired.length === 0) return 0;
      await trx.insertInto('marketing.expiry').values(expired.map((tool) => ({ tool_id: tool.id, created_at: now }))).onConflict((oc) => oc.column('tool_id').doNothing()).execute();
      for (const tool of expired) {
        await emit(trx, 'marketing', { type: 'marketing.tool_expired', key: tool.id, payload: { tool_id: tool.id, member_id: tool.member_id, kind: tool.kind, amount: tool.amount }, context: ctx });
      }
      return expired.length;
    });
  }

  /** Posts the money of expired tools back to the marketing account (idempotent by tool id). */
  async returnExpired(): Promise<number> {
    const pending = await this.deps.db
      .selectFrom('marketing.expiry as e')
      .innerJoin('marketing.tool as t', 't.id', 'e.tool_id')
      .select(['t.id', 't.amount', 't.currency'])
      .where('e.returned', '=', false)
      .orderBy('e.created_at')
      .limit(batch)
      .execute();
    const { marketing, issued } = await this.platformAccounts();
    for (const tool of pending) {
      const posted = await this.deps.ledger.post({
        source: 'marketing.expire',
        reference: tool.id,
        currency: tool.currency,
        entries: [
          { accountId: issued, amount: -tool.amount },
          { accountId: marketing, amount: tool.amount },
        ],
        memo: `expired tool ${tool.id}`,
      });
      assert(posted.ok, `returning expired tool ${tool.id}: ${posted.ok ? '' : posted.error}`);
      await this.deps.db.updateTable('marketing.expiry').set({ returned: true }).where('tool_id', '=', tool.id).execute();
    }
    return pending.length;
  }

  /** Deletes finished fence rows older than the retention; an open ('tried') row is never purged. */
  async purgeFences(): Promise<number> {
    const before = new Date(this.deps.clock.now().getTime() - this.deps.options.fenceRetentionMs);
    const deleted = await sql`delete from marketing.tcc_fence where (activity, tool_id) in (
        select activity, tool_id from marketing.tcc_fence where status <> 'tried' and updated_at < ${before} limit ${purgeBatch})`.execute(this.deps.db);
    return Number(deleted.numAffectedRows ?? 0n);
  }

  /** Finishes tools a crash left 'issuing'; returns how many. */
  async repair(): Promise<number> {
    const olderThan = new Date(this.deps.clock.now().getTime() - this.deps.options.repairAfterMs);
    const rows = await this.deps.db.selectFrom('marketing.tool').selectAll().where('status', '=', 'issuing').where('created_at', '<', olderThan).orderBy('created_at').limit(batch).execute();
    for (const row of rows) await this.finishIssue(systemContext(newId()), row);
    return rows.length;
  }

  workers(): Worker[] {
    return [
      intervalWorker('marketing-expiry', this.deps.options.expiryIntervalMs, this.deps.logger, async () => {
        const repaired = await this.repair();
        const expired = await this.expireDue();
        const returned = await this.returnExpired();
        const purged = await this.purgeFences();
        return repaired >= batch || expired >= batch || returned >= batch || purged >= purgeBatch;
      }),
    ];
  }

  /** Posts the issue voucher (a repeat posts nothing) and makes the tool available. */
  private async finishIssue(ctx: PlatformContext, row: ToolRow): Promise<PaymentTool> {
    const { marketing, issued } = await this.platformAccounts();
    const posted = await this.deps.ledger.post({
      source: 'marketing.issue',
      reference: row.id,
      currency: row.currency,
      entries: [
        { accountId: marketing, amount: -row.amount },
        { accountId: issued, amount: row.amount },
      ],
      memo: `${row.kind} ${row.id} issued`,
    });
    // The marketing account has no floor, so an issue is never refused for funds.
    assert(posted.ok, `issuing tool ${row.id}: ${posted.ok ? '' : posted.error}`);
    const now = this.deps.clock.now();
    const activated = await this.deps.db.transaction().execute(async (trx) => {
      const updated = await trx.updateTable('marketing.tool').set({ status: 'available', updated_at: now }).where('id', '=', row.id).where('status', '=', 'issuing').returningAll().executeTakeFirst();
      if (updated) {
        await emit(trx, 'marketing', {
          type: 'marketing.tool_issued',
          key: row.id,
          payload: { tool_id: row.id, member_id: row.member_id, kind: row.kind, amount: row.amount, currency: row.currency, expires_at: row.expires_at, voucher_id: posted.voucherId },
          context: ctx,
        });
      }
      return updated;
    });
    const current = activated ?? (await this.deps.db.selectFrom('marketing.tool').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow());
    const tool = toPaymentTool(current);
    assert(tool, 'an issued tool is no longer issuing');
    return tool;
  }

  private platformAccounts(): Promise<{ marketing: string; issued: string }> {
    this.accounts ??= (async () => {
      const marketing = await this.deps.ledger.openAccount({ type: 'platform', currency: marketingCurrency, code: marketingAccountCode, floor: null });
      const issued = await this.deps.ledger.openAccount({ type: 'platform', currency: marketingCurrency, code: issuedAccountCode, floor: 0n });
      assert(marketing.ok && issued.ok, 'the marketing platform accounts open');
      return { marketing: marketing.account.id, issued: issued.account.id };
    })().catch((error: unknown) => {
      this.accounts = undefined;
      throw error;
    });
    return this.accounts;
  }
}

function tccContext(activity: string): PlatformContext {
  return systemContext(activity);
}
