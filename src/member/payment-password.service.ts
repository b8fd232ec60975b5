/**
 * The payment password: scrypt-hashed, and locked for a while after too many wrong tries. Every
 * try is counted before the (slow) hash is checked, in one statement that also reads the hash, so
 * concurrent guesses cannot get more tries than allowed and no row lock is held across scrypt.
 */
import { sql, type Kysely } from 'kysely';
import { hashPassword, verifyPassword, type Clock } from '../platform/index.js';
import type { PasswordCheck } from './member.js';
import type { MemberDB } from './member.table.js';

export interface PasswordPolicy {
  readonly triesMax: number;
  readonly lockMs: number;
}

export class PaymentPasswordService {
  constructor(
    private readonly db: Kysely<MemberDB>,
    private readonly clock: Clock,
    private readonly policy: PasswordPolicy,
  ) {}

  /** Sets (or resets) the password; the business system vouches for the member, so the lock is cleared. */
  async set(trx: Kysely<MemberDB>, memberId: string, password: string): Promise<void> {
    const hash = await hashPassword(password);
    const now = this.clock.now();
    await trx
      .insertInto('member.payment_password')
      .values({ member_id: memberId, hash, failed_count: 0, locked_until: null, updated_at: now })
      .onConflict((oc) => oc.column('member_id').doUpdateSet({ hash, failed_count: 0, locked_until: null, updated_at: now }))
      .execute();
  }

  async isSet(memberId: string): Promise<boolean> {
    const row = await this.db.selectFrom('member.payment_password').select('member_id').where('member_id', '=', memberId).executeTakeFirst();
    return row !== undefined;
  }

  /** 'wrong' for tries 1..max-1; the try that reaches the maximum locks and answers 'locked'. */
  async verify(memberId: string, password: string): Promise<PasswordCheck> {
    const now = this.clock.now();
    const attempt = await this.countTry(memberId, now);
    if (attempt === 'not_set' || attempt === 'locked') return attempt;
    // Tries beyond the maximum (concurrent guesses, or a lock a crash never wrote) lock without a check.
    if (attempt.tries > this.policy.triesMax) return this.lock(memberId, now);
    if (await verifyPassword(password, attempt.hash)) {
      // A lock set meanwhile by a concurrent wrong try stays.
      await this.db.updateTable('member.payment_password').set({ failed_count: 0 }).where('member_id', '=', memberId).where('locked_until', 'is', null).execute();
      return 'ok';
    }
    return attempt.tries < this.policy.triesMax ? 'wrong' : this.lock(memberId, now);
  }

  /** Locks from now unless a lock is already running (its end is kept). */
  private async lock(memberId: string, now: Date): Promise<'locked'> {
    const until = new Date(now.getTime() + this.policy.lockMs);
    await this.db
      .updateTable('member.payment_password')
      .set({ locked_until: until, updated_at: now })
      .where('member_id', '=', memberId)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .execute();
    return 'locked';
  }

  /** Counts one try unless locked; a lock that has run out starts a fresh count. */
  private async countTry(memberId: string, now: Date): Promise<{ tries: number; hash: string } | 'not_set' | 'locked'> {
    const row = await this.db
      .updateTable('member.payment_password')
      .set({
        failed_count: sql<number>`case when locked_until is not null and locked_until <= ${now} then 1 else failed_count + 1 end`,
        locked_until: sql<Date | null>`case when locked_until <= ${now} then null else locked_until end`,
      })
      .where('member_id', '=', memberId)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .returning(['failed_count', 'hash'])
      .executeTakeFirst();
    if (row) return { tries: row.failed_count, hash: row.hash };
    return (await this.isSet(memberId)) ? 'locked' : 'not_set';
  }
}
