/** Test support: a fresh database with only the ledger schema migrated, and a Ledger over it. */
import pg from 'pg';
import { createKysely, createLogger, createPool, type Clock, type Kysely } from '../../src/platform/index.js';
import { migrateSubsystem } from '../../src/platform/db/migrator.js';
import { createLedger, type Ledger, type LedgerDB, type LedgerOptions } from '../../src/ledger/index.js';
import { createTestDatabase } from '../support/platform.js';

export interface LedgerFixture {
  readonly ledger: Ledger;
  readonly db: Kysely<LedgerDB>;
  readonly pool: pg.Pool;
  readonly url: string;
  /** A second Ledger over its own pool: another "process" for races. */
  another(options?: Partial<LedgerOptions>): Ledger;
  close(): Promise<void>;
}

export async function startLedger(label: string, options: Partial<LedgerOptions> = {}, clock?: Clock): Promise<LedgerFixture> {
  const database = await createTestDatabase(label);
  const pool = createPool(database.url, { max: 12 });
  const db = createKysely<LedgerDB>(pool);
  await migrateSubsystem(db as Kysely<unknown>, 'ledger');
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const theClock = clock ?? { now: () => new Date() };
  const ledger = createLedger({ db, pool, clock: theClock, logger, options });
  const others: Array<{ ledger: Ledger; pool: pg.Pool }> = [];
  return {
    ledger,
    db,
    pool,
    url: database.url,
    another(more = {}) {
      const otherPool = createPool(database.url, { max: 8 });
      const other = createLedger({ db: createKysely<LedgerDB>(otherPool), pool: otherPool, clock: theClock, logger, options: { ...options, ...more } });
      others.push({ ledger: other, pool: otherPool });
      return other;
    },
    async close() {
      await ledger.close();
      for (const other of others) {
        await other.ledger.close();
        await other.pool.end();
      }
      await db.destroy();
      await database.drop();
    },
  };
}

/** Opens an account and returns its id; asserts it opened. */
export async function open(ledger: Ledger, input: Parameters<Ledger['openAccount']>[0]): Promise<string> {
  const result = await ledger.openAccount(input);
  if (!result.ok) throw new Error(`openAccount refused: ${result.error}`);
  return result.account.id;
}
