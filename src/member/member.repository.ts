/** Queries of the member schema; functions take `db` or `trx` first. */
import type { Kysely, Transaction } from 'kysely';
import type { MemberAccountRow, MemberDB, MemberRow, MemberType } from './member.table.js';

export type MemberWithAccount = MemberRow & { account_id: string | null };

export function findMember(db: Kysely<MemberDB>, id: string, currency: string): Promise<MemberWithAccount | undefined> {
  return db
    .selectFrom('member.member as m')
    .leftJoin('member.account as a', (join) => join.onRef('a.member_id', '=', 'm.id').on('a.currency', '=', currency))
    .selectAll('m')
    .select('a.id as account_id')
    .where('m.id', '=', id)
    .executeTakeFirst();
}

export function findByExternalId(db: Kysely<MemberDB>, clientId: string, externalId: string): Promise<MemberRow | undefined> {
  return db.selectFrom('member.member').selectAll().where('client_id', '=', clientId).where('external_id', '=', externalId).executeTakeFirst();
}

/** Writes an 'opening' member; false when (client, external_id) is already taken. */
export async function insertOpening(
  db: Kysely<MemberDB>,
  row: { id: string; clientId: string; type: MemberType; name: string; externalId: string | null; now: Date },
): Promise<boolean> {
  const inserted = await db
    .insertInto('member.member')
    .values({ id: row.id, client_id: row.clientId, type: row.type, name: row.name, external_id: row.externalId, status: 'opening', created_at: row.now, updated_at: row.now })
    .onConflict((oc) => oc.columns(['client_id', 'external_id']).where('external_id', 'is not', null).doNothing())
    .executeTakeFirst();
  return inserted.numInsertedOrUpdatedRows === 1n;
}

/** Links the ledger account and turns the member active; true when this call did the change. */
export async function activate(trx: Transaction<MemberDB>, member: MemberRow, accountId: string, currency: string, now: Date): Promise<boolean> {
  await trx
    .insertInto('member.account')
    .values({ id: accountId, member_id: member.id, client_id: member.client_id, currency, created_at: now })
    .onConflict((oc) => oc.columns(['member_id', 'currency']).doNothing())
    .execute();
  const updated = await trx.updateTable('member.member').set({ status: 'active', updated_at: now }).where('id', '=', member.id).where('status', '=', 'opening').executeTakeFirst();
  return updated.numUpdatedRows === 1n;
}

export function openingMembers(db: Kysely<MemberDB>, olderThan: Date, limit: number): Promise<MemberRow[]> {
  return db.selectFrom('member.member').selectAll().where('status', '=', 'opening').where('created_at', '<', olderThan).orderBy('created_at').limit(limit).execute();
}

export function memberAccounts(db: Kysely<MemberDB>, memberId: string): Promise<MemberAccountRow[]> {
  return db.selectFrom('member.account').selectAll().where('member_id', '=', memberId).orderBy('currency').execute();
}

export function findAccount(db: Kysely<MemberDB>, clientId: string, accountId: string): Promise<MemberAccountRow | undefined> {
  return db.selectFrom('member.account').selectAll().where('id', '=', accountId).where('client_id', '=', clientId).executeTakeFirst();
}
