/**
 * Payment codes: the one-time 18-digit number a member shows at a till (Alipay's bar-code pay).
 * Only its SHA-256 is stored; redeeming is one compare-and-set, so a code pays once.
 */
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sha256Hex, type Clock } from '../platform/index.js';
import type { MemberDB } from './member.table.js';

/** Alipay's payment codes begin with 25..30; ours with 28. */
const codePrefix = '28';
const insertAttemptsMax = 3;
/** Redeemed and expired codes are kept this long (a late duplicate scan still finds it used), then purged. */
const keepAfterExpiryMs = 86_400_000;
const purgeBatch = 1_000;

export class PaymentCodeService {
  constructor(
    private readonly db: Kysely<MemberDB>,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  async issue(clientId: string, memberId: string): Promise<{ authCode: string; expiresAt: Date }> {
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    for (let attempt = 1; ; attempt += 1) {
      const authCode = codePrefix + randomDigits(16);
      const inserted = await this.db
        .insertInto('member.payment_code')
        .values({ code_hash: sha256Hex(authCode), member_id: memberId, client_id: clientId, expires_at: expiresAt, redeemed_at: null, created_at: now })
        .onConflict((oc) => oc.column('code_hash').doNothing())
        .executeTakeFirst();
      if (inserted.numInsertedOrUpdatedRows === 1n) return { authCode, expiresAt };
      // 10^16 codes: a collision is all but impossible, three in a row is a bug.
      if (attempt >= insertAttemptsMax) throw new Error('payment code collisions exhausted');
    }
  }

  /** The member behind a valid, unused code of this client; the code is spent by this call. */
  async redeem(clientId: string, authCode: string): Promise<string | undefined> {
    if (!/^\d{18}$/.test(authCode)) return undefined;
    const now = this.clock.now();
    const row = await this.db
      .updateTable('member.payment_code')
      .set({ redeemed_at: now })
      .where('code_hash', '=', sha256Hex(authCode))
      .where('client_id', '=', clientId)
      .where('redeemed_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('member_id')
      .executeTakeFirst();
    return row?.member_id;
  }

  /** Deletes codes long past their expiry; true when a full batch went (more may wait). */
  async purge(): Promise<boolean> {
    const before = new Date(this.clock.now().getTime() - keepAfterExpiryMs);
    const victims = this.db.selectFrom('member.payment_code').select('code_hash').where('expires_at', '<', before).limit(purgeBatch);
    const deleted = await this.db.deleteFrom('member.payment_code').where('code_hash', 'in', victims).executeTakeFirst();
    return deleted.numDeletedRows >= BigInt(purgeBatch);
  }
}

function randomDigits(count: number): string {
  let out = '';
  for (let i = 0; i < count; i += 1) out += String(randomInt(10));
  return out;
}
