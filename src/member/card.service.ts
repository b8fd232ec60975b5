/**
 * Bound cards: signing goes through the channel gateway (the bank texts a code; the code gives an
 * agreement that payments use). The bank call runs outside any transaction; what we keep of the
 * card is the bank, the last four digits and a keyed SHA-256 hash, never the number.
 */
import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import { emit } from '../events/index.js';
import { isId, newId, type Clock, type PlatformContext } from '../platform/index.js';
import { toCard, type Card, type CardBinder } from './member.js';
import type { CardRow, MemberDB } from './member.table.js';

export interface BindCardInput {
  readonly cardNo: string;
  readonly holderName: string;
  readonly phone: string;
}

export type BindCardResult =
  | { readonly ok: true; readonly card: Card }
  | { readonly ok: false; readonly reason: 'INVALID_CARD' | 'CARD_NOT_SUPPORTED' | 'SIGN_REFUSED' | 'BANK_UNAVAILABLE' };

export type VerifyCardRefusal = 'NOT_FOUND' | 'NOT_PENDING' | 'SMS_CODE_WRONG' | 'SMS_CODE_EXPIRED' | 'SMS_CODE_LOCKED' | 'SIGN_REFUSED' | 'BANK_UNAVAILABLE';
export type VerifyMemberCardResult = { readonly ok: true; readonly card: Card } | { readonly ok: false; readonly reason: VerifyCardRefusal };

/** Refusals after which the bank's binding is over: a new binding must start. */
const finalRefusals = new Set<VerifyCardRefusal>(['SMS_CODE_EXPIRED', 'SMS_CODE_LOCKED', 'SIGN_REFUSED', 'NOT_PENDING']);

export class CardService {
  constructor(
    private readonly db: Kysely<MemberDB>,
    private readonly binder: CardBinder,
    private readonly clock: Clock,
    private readonly cardHashKey: string,
  ) {}

  cardHash(cardNo: string): string {
    return createHmac('sha256', this.cardHashKey).update(cardNo).digest('hex');
  }

  /** Starts a binding for a member already checked to belong to the caller's client. */
  async bind(memberId: string, clientId: string, input: BindCardInput): Promise<BindCardResult> {
    const signed = await this.binder.signCard({ memberRef: memberId, cardNo: input.cardNo, holderName: input.holderName, phone: input.phone });
    if (!signed.ok) return { ok: false, reason: signed.reason };
    const row = await this.db
      .insertInto('member.card')
      .values({
        id: newId(),
        member_id: memberId,
        client_id: clientId,
        bank: signed.bank,
        last4: input.cardNo.slice(-4),
        card_hash: this.cardHash(input.cardNo),
        sign_id: signed.signId,
        agreement: null,
        status: 'pending_verification',
        created_at: this.clock.now(),
        verified_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ok: true, card: toCard(row)! };
  }

  async verify(ctx: PlatformContext, clientId: string, cardId: string, smsCode: string): Promise<VerifyMemberCardResult> {
    const row = await this.find(clientId, cardId);
    if (!row) return { ok: false, reason: 'NOT_FOUND' };
    if (row.status === 'active') return { ok: true, card: toCard(row)! };
    if (row.status === 'failed') return { ok: false, reason: 'NOT_PENDING' };
    const verified = await this.binder.verifyCard(row.sign_id, smsCode);
    if (!verified.ok) {
      if (finalRefusals.has(verified.reason)) await this.fail(row.id);
      return { ok: false, reason: verified.reason };
    }
    const now = this.clock.now();
    const activated = await this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('member.card')
        .set({ status: 'active', agreement: verified.agreement.id, verified_at: now })
        .where('id', '=', row.id)
        .where('status', '=', 'pending_verification')
        .returningAll()
        .executeTakeFirst();
      if (updated) {
        await emit(trx, 'member', {
          type: 'member.card_bound',
          key: updated.member_id,
          payload: { member_id: updated.member_id, card_id: updated.id, bank: updated.bank, last4: updated.last4 },
          context: ctx,
        });
      }
      return updated;
    });
    const final = activated ?? (await this.find(clientId, cardId));
    return final?.status === 'active' ? { ok: true, card: toCard(final)! } : { ok: false, reason: 'NOT_PENDING' };
  }

  /** A member's active cards, newest first (the cashier lists them). */
  async listActive(memberId: string, limit = 20): Promise<Card[]> {
    if (!isId(memberId)) return [];
    const rows = await this.db.selectFrom('member.card').selectAll().where('member_id', '=', memberId).where('status', '=', 'active').orderBy('created_at', 'desc').limit(limit).execute();
    return rows.map((row) => toCard(row)!);
  }

  async getActive(memberId: string, cardId: string): Promise<Card | undefined> {
    if (!isId(cardId) || !isId(memberId)) return undefined;
    const row = await this.db.selectFrom('member.card').selectAll().where('id', '=', cardId).where('member_id', '=', memberId).where('status', '=', 'active').executeTakeFirst();
    return row && toCard(row);
  }

  async get(clientId: string, cardId: string): Promise<Card | undefined> {
    const row = await this.find(clientId, cardId);
    return row && toCard(row);
  }

  private find(clientId: string, cardId: string): Promise<CardRow | undefined> {
    if (!isId(cardId)) return Promise.resolve(undefined);
    return this.db.selectFrom('member.card').selectAll().where('id', '=', cardId).where('client_id', '=', clientId).executeTakeFirst();
  }

  private async fail(cardId: string): Promise<void> {
    await this.db.updateTable('member.card').set({ status: 'failed' }).where('id', '=', cardId).where('status', '=', 'pending_verification').execute();
  }
}
