/**
 * The Idempotency-Key store. A request claims its key before it runs; the answer is stored when
 * it ends. Same key and same request → the stored answer; same key, other request → a conflict.
 * A claim whose lock ran out (the process died mid-request) may be taken over; the natural
 * keys of the operations underneath make running it again safe.
 */
import { sql, type Kysely } from 'kysely';
import type { AccessDB } from './access.table.js';

export type IdempotencyClaim =
  | { kind: 'claimed' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'conflict' }
  | { kind: 'in_progress' };

export class IdempotencyStore {
  constructor(
    private readonly db: Kysely<AccessDB>,
    private readonly lockMs: number,
  ) {}

  async claim(clientId: string, key: string, requestHash: string): Promise<IdempotencyClaim> {
    const lockedUntil = sql<Date>`now() + ${`${this.lockMs} milliseconds`}::interval`;
    const inserted = await this.db
      .insertInto('access.idempotency_key')
      .values({ client_id: clientId, key, request_hash: requestHash, state: 'started', locked_until: lockedUntil })
      .onConflict((oc) =>
        // Take over only an abandoned claim of the very same request.
        oc
          .columns(['client_id', 'key'])
          .doUpdateSet({ locked_until: lockedUntil })
          .where('access.idempotency_key.state', '=', 'started')
          .where('access.idempotency_key.locked_until', '<', sql<Date>`now()`)
          .where('access.idempotency_key.request_hash', '=', requestHash),
      )
      .returning('state')
      .executeTakeFirst();
    if (inserted) return { kind: 'claimed' };
    const row = await this.db
      .selectFrom('access.idempotency_key')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('key', '=', key)
      .executeTakeFirst();
    if (!row) return this.claim(clientId, key, requestHash); // expired and removed in between
    if (row.request_hash !== requestHash) return { kind: 'conflict' };
    if (row.state === 'done' && row.response_status !== null) return { kind: 'replay', status: row.response_status, body: row.response_body ?? '' };
    return { kind: 'in_progress' };
  }

  async complete(clientId: string, key: string, status: number, body: string): Promise<void> {
    await this.db
      .updateTable('access.idempotency_key')
      .set({ state: 'done', response_status: status, response_body: body })
      .where('client_id', '=', clientId)
      .where('key', '=', key)
      .execute();
  }

  /** Gives a claim back (the request failed in a way worth retrying, e.g. a 5xx). */
  async release(clientId: string, key: string): Promise<void> {
    await this.db.deleteFrom('access.idempotency_key').where('client_id', '=', clientId).where('key', '=', key).where('state', '=', 'started').execute();
  }
}
