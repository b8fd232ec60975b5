/** Operators of the console and the /admin API, with roles viewer < operator < admin. */
import type { Kysely } from 'kysely';
import { hashPassword, newId, randomToken, sha256Hex, verifyPassword } from '../platform/index.js';
import type { AccessDB } from './access.table.js';

export const operatorRoles = ['viewer', 'operator', 'admin'] as const;
export type OperatorRole = (typeof operatorRoles)[number];

export interface Operator {
  readonly id: string;
  readonly name: string;
  readonly role: OperatorRole;
}

/** What `paycore operator create` prints, once. */
export interface CreatedOperator extends Operator {
  readonly password: string;
  readonly token: string;
}

/** True when `role` may do what `needed` may. */
export function roleAllows(role: OperatorRole, needed: OperatorRole): boolean {
  return operatorRoles.indexOf(role) >= operatorRoles.indexOf(needed);
}

export type OperatorCreateResult = { ok: true; operator: CreatedOperator } | { ok: false; reason: 'name_taken' };

export class OperatorService {
  constructor(private readonly db: Kysely<AccessDB>) {}

  async create(name: string, role: OperatorRole): Promise<OperatorCreateResult> {
    const id = newId();
    const password = randomToken('pw', 12);
    const token = randomToken('op', 24);
    const inserted = await this.db
      .insertInto('access.operator')
      .values({ id, name, role, password_hash: await hashPassword(password), token_hash: sha256Hex(token) })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return { ok: false, reason: 'name_taken' };
    return { ok: true, operator: { id, name, role, password, token } };
  }

  async authenticate(token: string): Promise<Operator | undefined> {
    const row = await this.db
      .selectFrom('access.operator')
      .select(['id', 'name', 'role'])
      .where('token_hash', '=', sha256Hex(token))
      .executeTakeFirst();
    return row ?? undefined;
  }

  /** Name and password → a fresh token (the previous one stops working). */
  async login(name: string, password: string): Promise<{ operator: Operator; token: string } | undefined> {
    const row = await this.db.selectFrom('access.operator').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row || !(await verifyPassword(password, row.password_hash))) return undefined;
    const token = randomToken('op', 24);
    await this.db.updateTable('access.operator').set({ token_hash: sha256Hex(token) }).where('id', '=', row.id).execute();
    return { operator: { id: row.id, name: row.name, role: row.role }, token };
  }
}
