/**
 * Card binding (sign): the bank sends the holder an SMS code; the code confirms the binding and
 * the bank gives an agreement number that payments use. The card number goes to the bank and
 * nowhere else: we keep a keyed hash, the BIN and the last four digits.
 */
import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import { newId, type Logger } from '../platform/index.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { CardAgreementRow, ChannelDB } from './channel.table.js';

/** A bound (or binding) card as others see it. */
export interface CardAgreement {
  readonly id: string;
  readonly memberRef: string;
  readonly bank: string;
  readonly last4: string;
  readonly cardBin: string;
  /** Valid at every bank serving the card (card-network cards, 6228…). */
  readonly network: boolean;
  readonly status: CardAgreementRow['status'];
  readonly createdAt: Date;
  readonly verifiedAt: Date | null;
}

export function toCardAgreement(row: CardAgreementRow): CardAgreement {
  return { id: row.id, memberRef: row.member_ref, bank: row.bank, last4: row.last4, cardBin: row.card_bin, network: row.network, status: row.status, createdAt: row.created_at, verifiedAt: row.verified_at };
}

export interface SignCardInput {
  readonly memberRef: string;
  readonly cardNo: string;
  readonly holderName: string;
  readonly phone: string;
}

export type SignCardResult =
  | { readonly ok: true; readonly signId: string; readonly bank: string; readonly last4: string; readonly status: 'pending_verification' }
  | { readonly ok: false; readonly reason: 'INVALID_CARD' | 'CARD_NOT_SUPPORTED' | 'SIGN_REFUSED' | 'BANK_UNAVAILABLE'; readonly detail?: string };

export type VerifyCardResult =
  | { readonly ok: true; readonly agreement: CardAgreement }
  | { readonly ok: false; readonly reason: 'NOT_FOUND' | 'NOT_PENDING' | 'SMS_CODE_WRONG' | 'SMS_CODE_EXPIRED' | 'SMS_CODE_LOCKED' | 'SIGN_REFUSED' | 'BANK_UNAVAILABLE'; readonly detail?: string };

const networkPrefix = '6228';
/** Banks tried for one binding when the first does not answer. */
const signAttemptsMax = 2;
const activeCacheMax = 50_000;

export class CardBindingService {
  private readonly active = new Map<string, CardAgreementRow>();
  constructor(
    private readonly db: Kysely<ChannelDB>,
    private readonly registry: ChannelRegistry,
    private readonly cardHashKey: string,
    private readonly logger: Logger,
  ) {}

  cardHash(cardNo: string): string {
    return createHmac('sha256', this.cardHashKey).update(cardNo).digest('hex');
  }

  async signCard(input: SignCardInput): Promise<SignCardResult> {
    if (!/^\d{16}$/.test(input.cardNo)) return { ok: false, reason: 'INVALID_CARD' };
    await this.registry.refreshIfStale();
    const channels = this.registry.route({ service: 'sign', cardBin: input.cardNo.slice(0, 6), amount: undefined, currency: 'CNY', bank: undefined, exclude: [] });
    if (channels.length === 0) return { ok: false, reason: 'CARD_NOT_SUPPORTED' };
    for (const channel of channels.slice(0, signAttemptsMax)) {
      const id = newId();
      await this.db
        .insertInto('channel.card_agreement')
        .values({ id, member_ref: input.memberRef, bank: channel.bank, channel_id: channel.id, card_hash: this.cardHash(input.cardNo), card_bin: input.cardNo.slice(0, 6), last4: input.cardNo.slice(-4), network: input.cardNo.startsWith(networkPrefix), status: 'pending_verification', bank_sign_id: null, agreement_no: null, fail_reason: null, verified_at: null })
        .execute();
      const result = await this.registry.adapter(channel.bank).signApply({ requestId: id, cardNo: input.cardNo, holderName: input.holderName, phone: input.phone });
      if (result.kind === 'answered' && result.reply.type === 'sms_sent') {
        this.registry.answered(channel.id, result.latencyMs);
        await this.db.updateTable('channel.card_agreement').set({ bank_sign_id: result.reply.signId }).where('id', '=', id).execute();
        return { ok: true, signId: id, bank: channel.bank, last4: input.cardNo.slice(-4), status: 'pending_verification' };
      }
      const reason = result.kind === 'answered' ? (result.reply.type === 'rejected' ? result.reply.reason : result.reply.type) : result.detail;
      await this.db.updateTable('channel.card_agreement').set({ status: 'failed', fail_reason: reason }).where('id', '=', id).where('status', '=', 'pending_verification').execute();
      if (result.kind === 'answered') {
        this.registry.answered(channel.id, result.latencyMs);
        return { ok: false, reason: reason === 'CARD_NOT_SUPPORTED' ? 'CARD_NOT_SUPPORTED' : 'SIGN_REFUSED', detail: reason };
      }
      // No money moves in a binding, so a bank that does not answer may simply be passed over.
      this.registry.record(channel.id, result.kind === 'unreachable' ? 'unreachable' : 'timeout');
      this.logger.warn({ bank: channel.bank, detail: reason }, 'card binding: bank did not answer');
    }
    return { ok: false, reason: 'BANK_UNAVAILABLE' };
  }

  async verifyCard(signId: string, smsCode: string): Promise<VerifyCardResult> {
    const row = await this.find(signId);
    if (!row) return { ok: false, reason: 'NOT_FOUND' };
    if (row.status === 'active') return { ok: true, agreement: toCardAgreement(row) };
    if (row.status !== 'pending_verification' || !row.bank_sign_id) return { ok: false, reason: 'NOT_PENDING' };
    const result = await this.registry.adapter(row.bank).signConfirm({ signId: row.bank_sign_id, smsCode });
    if (result.kind !== 'answered') return { ok: false, reason: 'BANK_UNAVAILABLE', detail: result.detail };
    const reply = result.reply;
    if (reply.type === 'rejected') {
      const known = ['SMS_CODE_WRONG', 'SMS_CODE_EXPIRED', 'SMS_CODE_LOCKED'] as const;
      const reason = known.find((k) => k === reply.reason) ?? 'SIGN_REFUSED';
      if (reason !== 'SMS_CODE_WRONG') await this.db.updateTable('channel.card_agreement').set({ status: 'failed', fail_reason: reply.reason }).where('id', '=', row.id).where('status', '=', 'pending_verification').execute();
      return { ok: false, reason, detail: reply.reason };
    }
    if (reply.type !== 'signed') return { ok: false, reason: 'SIGN_REFUSED', detail: reply.type };
    const updated = await this.db
      .updateTable('channel.card_agreement')
      .set({ status: 'active', agreement_no: reply.agreementNo, verified_at: new Date() })
      .where('id', '=', row.id)
      .where('status', '=', 'pending_verification')
      .returningAll()
      .executeTakeFirst();
    const final = updated ?? (await this.find(row.id));
    return final?.status === 'active' ? { ok: true, agreement: toCardAgreement(final) } : { ok: false, reason: 'NOT_PENDING' };
  }

  /**
   * An active agreement, cached: an active binding never changes (there is no unbinding yet),
   * so payments need not read it each time. Bounded; the oldest entries go first.
   */
  async findActive(id: string): Promise<CardAgreementRow | undefined> {
    const cached = this.active.get(id);
    if (cached) return cached;
    const row = await this.find(id);
    if (!row || row.status !== 'active' || !row.agreement_no) return undefined;
    this.active.set(id, row);
    if (this.active.size > activeCacheMax) this.active.delete(this.active.keys().next().value!);
    return row;
  }

  async find(id: string): Promise<CardAgreementRow | undefined> {
    return this.db.selectFrom('channel.card_agreement').selectAll().where('id', '=', id).executeTakeFirst();
  }
}
