/**
 * v3 nonces: each (app, nonce) is accepted once while its request could still pass the freshness
 * check; after that the timestamp alone refuses a replay, so the row may go.
 */
import { sql, type Kysely } from 'kysely';
import type { AlipayDB } from './alipay.table.js';

/** Rows removed per purge step (a worker goes again at once while it removes this many). */
const purgeBatchMax = 5_000;

export class NonceRepository {
  constructor(private readonly db: Kysely<AlipayDB>) {}

  /** True the first time this app uses this nonce before `expiresAt`. */
  async claim(appId: string, nonce: string, expiresAt: Date): Promise<boolean> {
    const row = await this.db.insertInto('alipay.v3_nonce').values({ app_id: appId, nonce, expires_at: expiresAt }).onConflict((oc) => oc.doNothing()).returning('nonce').executeTakeFirst();
    return row !== undefined;
  }

  /** Deletes expired nonces (bounded); true when the batch was full. */
  async purge(now: Date): Promise<boolean> {
    const result = await sql`delete from alipay.v3_nonce where ctid in (select ctid from alipay.v3_nonce where expires_at < ${now} limit ${purgeBatchMax})`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n) >= purgeBatchMax;
  }
}
