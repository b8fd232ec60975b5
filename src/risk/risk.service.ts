/**
 * Risk (SYSTEM.md §1): checked before a payment's try. A blacklist, single and daily limits per
 * member and tool, and the amount above which the payment password is required. Defaults come from
 * the configuration (API.md "Risk defaults"); a client may have its own per tool in risk.client_limit.
 * Daily usage is what `record` wrote for the day (UTC, as the ledger counts days) and `release`
 * did not take back (a card payment counts while in flight and once paid, not once declined), so assess is a
 * pre-check: two payments assessed at the same instant may together pass the daily limit once.
 */
import { sql, type Kysely } from 'kysely';
import { isId, type Clock, type Config } from '../platform/index.js';
import type { RiskDB } from './risk.table.js';

export type RiskTool = 'balance' | 'card' | 'coupon' | 'red_packet' | 'recharge' | 'withdrawal' | 'transfer';
export const riskTools: readonly RiskTool[] = ['balance', 'card', 'coupon', 'red_packet', 'recharge', 'withdrawal', 'transfer'];

/** One tool's limits; null: no such limit. */
export interface RiskLimits {
  readonly singleLimit: bigint | null;
  readonly dailyLimit: bigint | null;
  readonly passwordThreshold: bigint | null;
}

export interface RiskDefaults {
  readonly passwordThreshold: bigint;
  readonly singleLimit: bigint;
  readonly dailyLimit: bigint;
}

export type AssessResult = { readonly ok: true; readonly passwordRequired: boolean } | { readonly ok: false; readonly reason: 'blacklisted' | 'limit_exceeded' };

export interface AssessInput {
  readonly clientId: string;
  readonly memberId: string;
  readonly tool: RiskTool;
  readonly amount: bigint;
  readonly at: Date;
}

export interface RecordInput {
  readonly memberId: string;
  readonly tool: RiskTool;
  readonly amount: bigint;
  readonly at: Date;
  readonly reference: string;
}

/** Tools whose money comes from outside (a card): the single and daily limits apply by default. */
const limitedTools = new Set<RiskTool>(['card', 'recharge']);
/** Payments and transfers need the password above the threshold; recharges and withdrawals do not by default. */
const passwordTools = new Set<RiskTool>(['balance', 'card', 'coupon', 'red_packet', 'transfer']);

export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export class RiskService {
  /** The defaults from the platform configuration (API.md "Risk defaults"). */
  static defaultsFrom(config: Config): RiskDefaults {
    return { passwordThreshold: config.riskPasswordThresholdMinor, singleLimit: config.riskSingleLimitMinor, dailyLimit: config.riskDailyLimitMinor };
  }

  constructor(
    private readonly db: Kysely<RiskDB>,
    private readonly clock: Clock,
    private readonly defaults: RiskDefaults,
  ) {}

  /** The limits in force for a client and tool: its override, else the defaults. */
  async limits(clientId: string, tool: RiskTool): Promise<RiskLimits> {
    if (!isId(clientId)) return this.defaultLimits(tool);
    const row = await this.db.selectFrom('risk.client_limit').selectAll().where('client_id', '=', clientId).where('tool', '=', tool).executeTakeFirst();
    return row ? { singleLimit: row.single_limit, dailyLimit: row.daily_limit, passwordThreshold: row.password_threshold } : this.defaultLimits(tool);
  }

  defaultLimits(tool: RiskTool): RiskLimits {
    return {
      singleLimit: limitedTools.has(tool) ? this.defaults.singleLimit : null,
      dailyLimit: limitedTools.has(tool) ? this.defaults.dailyLimit : null,
      passwordThreshold: passwordTools.has(tool) ? this.defaults.passwordThreshold : null,
    };
  }

  /** Replaces a client's limits for one tool (null fields: no such limit for that client). */
  async setClientLimits(clientId: string, tool: RiskTool, limits: RiskLimits): Promise<void> {
    const values = { single_limit: limits.singleLimit, daily_limit: limits.dailyLimit, password_threshold: limits.passwordThreshold, updated_at: this.clock.now() };
    await this.db
      .insertInto('risk.client_limit')
      .values({ client_id: clientId, tool, ...values })
      .onConflict((oc) => oc.columns(['client_id', 'tool']).doUpdateSet(values))
      .execute();
  }

  async clearClientLimits(clientId: string, tool: RiskTool): Promise<void> {
    await this.db.deleteFrom('risk.client_limit').where('client_id', '=', clientId).where('tool', '=', tool).execute();
  }

  /** One round trip for the blacklist and the client's limits; a second only when a daily limit applies. */
  async assess(input: AssessInput): Promise<AssessResult> {
    const facts = await this.facts(input.clientId, input.memberId, input.tool);
    if (facts.blacklisted) return { ok: false, reason: 'blacklisted' };
    const limits = facts.limits;
    if (limits.singleLimit !== null && input.amount > limits.singleLimit) return { ok: false, reason: 'limit_exceeded' };
    if (limits.dailyLimit !== null && (await this.usedOn(input.memberId, input.tool, dayOf(input.at))) + input.amount > limits.dailyLimit) {
      return { ok: false, reason: 'limit_exceeded' };
    }
    return { ok: true, passwordRequired: limits.passwordThreshold !== null && input.amount > limits.passwordThreshold };
  }

  private async facts(clientId: string, memberId: string, tool: RiskTool): Promise<{ blacklisted: boolean; limits: RiskLimits }> {
    if (!isId(clientId) || !isId(memberId)) return { blacklisted: false, limits: this.defaultLimits(tool) };
    const row = await this.db
      .selectNoFrom((eb) => [
        eb.exists(eb.selectFrom('risk.blacklist').select('member_id').where('member_id', '=', memberId)).as('blacklisted'),
        eb.selectFrom('risk.client_limit').select(sql<string>`json_build_array(single_limit::text, daily_limit::text, password_threshold::text)`.as('l')).where('client_id', '=', clientId).where('tool', '=', tool).as('limits'),
      ])
      .executeTakeFirstOrThrow();
    const blacklisted = Boolean(row.blacklisted);
    if (row.limits === null) return { blacklisted, limits: this.defaultLimits(tool) };
    const [single, daily, threshold] = (typeof row.limits === 'string' ? JSON.parse(row.limits) : row.limits) as Array<string | null>;
    const big = (value: string | null | undefined): bigint | null => (value === null || value === undefined ? null : BigInt(value));
    return { blacklisted, limits: { singleLimit: big(single), dailyLimit: big(daily), passwordThreshold: big(threshold) } };
  }

  /** Counts a use toward the daily limit; a repeat of the same reference counts nothing. */
  async record(input: RecordInput): Promise<void> {
    if (input.amount <= 0n) return;
    await this.db
      .insertInto('risk.usage')
      .values({ reference: input.reference, member_id: input.memberId, tool: input.tool, day: dayOf(input.at), amount: input.amount, created_at: this.clock.now() })
      .onConflict((oc) => oc.column('reference').doNothing())
      .execute();
  }

  /**
   * Takes back uses that did not happen (a declined or abandoned card payment): what `record`
   * wrote under these references no longer counts. Unknown references are ignored (idempotent).
   */
  async release(references: readonly string[]): Promise<void> {
    if (references.length === 0) return;
    await this.db.deleteFrom('risk.usage').where('reference', 'in', references).execute();
  }

  /** What a member used of a tool on a day (YYYY-MM-DD). */
  async usedOn(memberId: string, tool: RiskTool, day: string): Promise<bigint> {
    if (!isId(memberId)) return 0n;
    const row = await this.db
      .selectFrom('risk.usage')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<bigint>('amount'), eb.val(0n)).as('used'))
      .where('member_id', '=', memberId)
      .where('tool', '=', tool)
      .where('day', '=', day)
      .executeTakeFirstOrThrow();
    return BigInt(row.used);
  }

  async blacklist(memberId: string, reason: string): Promise<void> {
    await this.db
      .insertInto('risk.blacklist')
      .values({ member_id: memberId, reason, created_at: this.clock.now() })
      .onConflict((oc) => oc.column('member_id').doUpdateSet({ reason }))
      .execute();
  }

  async unblacklist(memberId: string): Promise<boolean> {
    if (!isId(memberId)) return false;
    const deleted = await this.db.deleteFrom('risk.blacklist').where('member_id', '=', memberId).executeTakeFirst();
    return deleted.numDeletedRows === 1n;
  }

  async isBlacklisted(memberId: string): Promise<boolean> {
    if (!isId(memberId)) return false;
    const row = await this.db.selectFrom('risk.blacklist').select('member_id').where('member_id', '=', memberId).executeTakeFirst();
    return row !== undefined;
  }
}
