/** The member subsystem's domain types and their row mappers. */
import type { SignCardInput, SignCardResult, VerifyCardResult } from '../channel/index.js';
import type { CardRow, MemberRow, MemberType } from './member.table.js';

export type { MemberType };

/** A personal or merchant member of one API client, with its ledger CNY balance account. */
export interface Member {
  readonly id: string;
  readonly clientId: string;
  readonly type: MemberType;
  readonly name: string;
  readonly externalId: string | null;
  /** The ledger CNY balance account. */
  readonly accountId: string;
  readonly createdAt: Date;
}

/** A card bound (or being bound) to a member; the number itself is never kept. */
export interface Card {
  readonly id: string;
  readonly memberId: string;
  readonly bank: string;
  readonly last4: string;
  readonly status: 'pending_verification' | 'active';
  /** The channel gateway's handle for paying with this card ('' until verified). */
  readonly agreement: string;
  readonly createdAt: Date;
}

export type PasswordCheck = 'ok' | 'wrong' | 'locked' | 'not_set';

/** What the member subsystem needs of the channel gateway to bind cards (the gateway implements it). */
export interface CardBinder {
  signCard(input: SignCardInput): Promise<SignCardResult>;
  verifyCard(signId: string, smsCode: string): Promise<VerifyCardResult>;
}

export const memberCurrency = 'CNY';

/** The code of a member's ledger account: derived from the member id so a retried opening finds it. */
export function memberAccountCode(memberId: string, currency: string): string {
  return `member:${memberId}:${currency}`;
}

export function toMember(row: MemberRow, accountId: string): Member {
  return { id: row.id, clientId: row.client_id, type: row.type, name: row.name, externalId: row.external_id, accountId, createdAt: row.created_at };
}

/** A failed binding is never shown as a card; callers see pending or active ones only. */
export function toCard(row: CardRow): Card | undefined {
  if (row.status === 'failed') return undefined;
  return { id: row.id, memberId: row.member_id, bank: row.bank, last4: row.last4, status: row.status, agreement: row.agreement ?? '', createdAt: row.created_at };
}
