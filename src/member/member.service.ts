/**
 * Members: personal and merchant members of an API client, each with a ledger CNY balance account
 * opened in the same request. The member row is written 'opening' first, the ledger account is
 * opened by a code derived from the member id (the ledger may live in another database, so no
 * shared transaction), then the row turns 'active'. A retry, a read or the repair pass finishes a
 * member a crash left half-open: opening the account by its code again returns the first one.
 */
import { strict as assert } from 'node:assert';
import type { Kysely } from 'kysely';
import { emit } from '../events/index.js';
import type { Ledger } from '../ledger/index.js';
import { AppError, intervalWorker, isId, newId, systemContext, type Clock, type Config, type Logger, type PlatformContext, type Worker } from '../platform/index.js';
import { CardService, type BindCardInput, type BindCardResult, type VerifyMemberCardResult } from './card.service.js';
import { memberAccountCode, memberCurrency, toMember, type Card, type CardBinder, type Member, type MemberType, type PasswordCheck } from './member.js';
import * as repo from './member.repository.js';
import type { MemberAccountRow, MemberDB, MemberRow } from './member.table.js';
import { PaymentCodeService } from './payment-code.service.js';
import { PaymentPasswordService } from './payment-password.service.js';

export interface MemberOptions {
  readonly passwordTriesMax: number;
  readonly passwordLockMs: number;
  readonly paymentCodeTtlMs: number;
  /** Key of the keyed SHA-256 that recognises a card without keeping its number. */
  readonly cardHashKey: string;
  /** How long a member may stay 'opening' before the repair pass finishes it. */
  readonly repairAfterMs: number;
  readonly repairIntervalMs: number;
}

export interface MemberDeps {
  readonly db: Kysely<MemberDB>;
  readonly ledger: Ledger;
  readonly cards: CardBinder;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: MemberOptions;
}

export interface CreateMemberInput {
  readonly type: MemberType;
  readonly name: string;
  readonly externalId?: string;
}

export type OpenMemberResult = { readonly ok: true; readonly member: Member; readonly created: boolean } | { readonly ok: false; readonly reason: 'external_id_conflict' };

const repairBatch = 100;

export class MemberService {
  private readonly db: Kysely<MemberDB>;
  private readonly passwords: PaymentPasswordService;
  private readonly cardService: CardService;
  private readonly codes: PaymentCodeService;

  /** The options from the platform configuration. */
  static optionsFrom(config: Config): MemberOptions {
    return {
      passwordTriesMax: config.memberPasswordTriesMax,
      passwordLockMs: config.memberPasswordLockMs,
      paymentCodeTtlMs: config.memberPaymentCodeTtlMs,
      cardHashKey: config.banks.cardHashKey,
      repairAfterMs: 30_000,
      repairIntervalMs: 10_000,
    };
  }

  constructor(private readonly deps: MemberDeps) {
    this.db = deps.db;
    this.passwords = new PaymentPasswordService(deps.db, deps.clock, { triesMax: deps.options.passwordTriesMax, lockMs: deps.options.passwordLockMs });
    this.cardService = new CardService(deps.db, deps.cards, deps.clock, deps.options.cardHashKey);
    this.codes = new PaymentCodeService(deps.db, deps.clock, deps.options.paymentCodeTtlMs);
  }

  /** Creates a member with its account; idempotent by (client, externalId); a different member under it throws. */
  async create(ctx: PlatformContext, input: CreateMemberInput): Promise<Member> {
    const result = await this.open(ctx, input);
    if (!result.ok) throw new AppError('MEMBER_EXTERNAL_ID_CONFLICT', { external_id: input.externalId });
    return result.member;
  }

  /** Like create, with a different member under the same external id as a value, not a throw. */
  async open(ctx: PlatformContext, input: CreateMemberInput): Promise<OpenMemberResult> {
    const externalId = input.externalId ?? null;
    if (externalId !== null) {
      const existing = await repo.findByExternalId(this.db, ctx.client, externalId);
      if (existing) return this.replay(ctx, existing, input);
    }
    const id = newId();
    const inserted = await repo.insertOpening(this.db, { id, clientId: ctx.client, type: input.type, name: input.name, externalId, now: this.deps.clock.now() });
    if (!inserted) {
      // A concurrent request with the same external id won the insert.
      const winner = await repo.findByExternalId(this.db, ctx.client, externalId!);
      assert(winner, 'the conflicting member exists');
      return this.replay(ctx, winner, input);
    }
    const row = await this.db.selectFrom('member.member').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return { ok: true, member: await this.finishOpening(ctx, row), created: true };
  }

  /** The member of this client, or undefined (another client's member is not found). */
  async get(clientId: string, memberId: string): Promise<Member | undefined> {
    const member = await this.getById(memberId);
    return member && member.clientId === clientId ? member : undefined;
  }

  /** Any client's member; for other subsystems that already hold a checked member id. */
  async getById(memberId: string): Promise<Member | undefined> {
    if (!isId(memberId)) return undefined;
    const row = await repo.findMember(this.db, memberId, memberCurrency);
    if (!row) return undefined;
    if (row.status === 'active' && row.account_id) return toMember(row, row.account_id);
    return this.finishOpening(systemContext(newId()), row);
  }

  /** The member's ledger accounts (one per currency; CNY today). */
  async accounts(clientId: string, memberId: string): Promise<MemberAccountRow[] | undefined> {
    const member = await this.get(clientId, memberId);
    return member && repo.memberAccounts(this.db, member.id);
  }

  /** A ledger account owned by one of this client's members. */
  account(clientId: string, accountId: string): Promise<MemberAccountRow | undefined> {
    return isId(accountId) ? repo.findAccount(this.db, clientId, accountId) : Promise.resolve(undefined);
  }

  async setPaymentPassword(ctx: PlatformContext, memberId: string, password: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await this.passwords.set(trx, memberId, password);
      await emit(trx, 'member', { type: 'member.payment_password_set', key: memberId, payload: { member_id: memberId }, context: ctx });
    });
  }

  hasPaymentPassword(memberId: string): Promise<boolean> {
    return this.passwords.isSet(memberId);
  }

  verifyPaymentPassword(memberId: string, password: string): Promise<PasswordCheck> {
    return isId(memberId) ? this.passwords.verify(memberId, password) : Promise.resolve('not_set');
  }

  bindCard(memberId: string, clientId: string, input: BindCardInput): Promise<BindCardResult> {
    return this.cardService.bind(memberId, clientId, input);
  }

  verifyCard(ctx: PlatformContext, cardId: string, smsCode: string): Promise<VerifyMemberCardResult> {
    return this.cardService.verify(ctx, ctx.client, cardId, smsCode);
  }

  getCard(clientId: string, cardId: string): Promise<Card | undefined> {
    return this.cardService.get(clientId, cardId);
  }

  /** An active card of the member; pending or failed bindings are not. */
  getActiveCard(memberId: string, cardId: string): Promise<Card | undefined> {
    return this.cardService.getActive(memberId, cardId);
  }

  /** The member's active cards (empty for another client's member). */
  async activeCards(clientId: string, memberId: string): Promise<Card[]> {
    if (!(await this.get(clientId, memberId))) return [];
    return this.cardService.listActive(memberId);
  }

  issuePaymentCode(clientId: string, memberId: string): Promise<{ authCode: string; expiresAt: Date }> {
    return this.codes.issue(clientId, memberId);
  }

  /** The member id behind a payment code; one-time, valid for the configured TTL, this client only. */
  redeemPaymentCode(clientId: string, authCode: string): Promise<string | undefined> {
    return isId(clientId) ? this.codes.redeem(clientId, authCode) : Promise.resolve(undefined);
  }

  /** Finishes members a crash left 'opening'; returns how many. */
  async repair(): Promise<number> {
    const olderThan = new Date(this.deps.clock.now().getTime() - this.deps.options.repairAfterMs);
    const rows = await repo.openingMembers(this.db, olderThan, repairBatch);
    for (const row of rows) await this.finishOpening(systemContext(newId()), row);
    return rows.length;
  }

  workers(): Worker[] {
    const logger = this.deps.logger;
    return [
      intervalWorker('member-repair', this.deps.options.repairIntervalMs, logger, async () => (await this.repair()) >= repairBatch),
      intervalWorker('member-payment-code-purge', 60_000, logger, () => this.codes.purge()),
    ];
  }

  private async replay(ctx: PlatformContext, row: MemberRow, input: CreateMemberInput): Promise<OpenMemberResult> {
    if (row.type !== input.type || row.name !== input.name) return { ok: false, reason: 'external_id_conflict' };
    return { ok: true, member: await this.finishOpening(ctx, row), created: false };
  }

  /** Opens (or finds) the ledger account by its code and activates the member; safe to repeat. */
  private async finishOpening(ctx: PlatformContext, row: MemberRow): Promise<Member> {
    const opened = await this.deps.ledger.openAccount({
      type: row.type === 'merchant' ? 'merchant' : 'member',
      currency: memberCurrency,
      code: memberAccountCode(row.id, memberCurrency),
      owner: row.id,
      floor: 0n,
    });
    assert(opened.ok, `ledger refused the account of member ${row.id}: ${opened.ok ? '' : opened.error}`);
    const accountId = opened.account.id;
    if (row.status === 'active') return toMember(row, accountId);
    const now = this.deps.clock.now();
    await this.db.transaction().execute(async (trx) => {
      if (await repo.activate(trx, row, accountId, memberCurrency, now)) {
        await emit(trx, 'member', {
          type: 'member.created',
          key: row.id,
          payload: { member_id: row.id, type: row.type, external_id: row.external_id, account_id: accountId, currency: memberCurrency },
          context: ctx,
        });
      }
    });
    return toMember(row, accountId);
  }
}
