/** Row types of the member schema. */
import type { Generated, Selectable } from 'kysely';

export type MemberType = 'personal' | 'merchant';
export type MemberStatus = 'opening' | 'active';
export type CardStatus = 'pending_verification' | 'active' | 'failed';

export interface MemberTable {
  id: string;
  client_id: string;
  type: MemberType;
  name: string;
  external_id: string | null;
  status: MemberStatus;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface MemberAccountTable {
  id: string;
  member_id: string;
  client_id: string;
  currency: string;
  created_at: Generated<Date>;
}

export interface PaymentPasswordTable {
  member_id: string;
  hash: string;
  failed_count: Generated<number>;
  locked_until: Date | null;
  updated_at: Generated<Date>;
}

export interface CardTable {
  id: string;
  member_id: string;
  client_id: string;
  bank: string;
  last4: string;
  card_hash: string;
  sign_id: string;
  agreement: string | null;
  status: CardStatus;
  created_at: Generated<Date>;
  verified_at: Date | null;
}

export interface PaymentCodeTable {
  code_hash: string;
  member_id: string;
  client_id: string;
  expires_at: Date;
  redeemed_at: Date | null;
  created_at: Generated<Date>;
}

export interface MemberDB {
  'member.member': MemberTable;
  'member.account': MemberAccountTable;
  'member.payment_password': PaymentPasswordTable;
  'member.card': CardTable;
  'member.payment_code': PaymentCodeTable;
}

export type MemberRow = Selectable<MemberTable>;
export type MemberAccountRow = Selectable<MemberAccountTable>;
export type PaymentPasswordRow = Selectable<PaymentPasswordTable>;
export type CardRow = Selectable<CardTable>;
