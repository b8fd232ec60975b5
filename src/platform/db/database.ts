/**
 * PostgreSQL access: one pg pool per distinct URL, Kysely on top. int8 comes back as BigInt
 * (money and counts are bigint everywhere inside); numeric stays a string so no float sneaks in.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';

export type { Kysely, Transaction };

const INT8_OID = 20;

/** pg type parsers for Paycore: int8 → BigInt, the rest as pg does by default. */
export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/**
 * Statement texts given a prepared-statement name in this process (text → name; null: never
 * again). A named statement is parsed and planned once per connection instead of on every call,
 * which is most of PostgreSQL's work for the short statements Paycore sends. Bounded: texts that
 * vary (an IN list of another length, a multi-row insert of another size) stop getting names
 * once the map is full, so neither this process nor a connection's backend grows without end.
 */
const statementNames = new Map<string, string | null>();
const namedStatementsMax = 256;

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined) {
    if (statementNames.size >= namedStatementsMax) return undefined;
    name = `pc_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name ?? undefined;
}

/** After a table changed under it (a migration by a newer process), a prepared select may no longer run. */
function preparedStatementBroken(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '0A000' && /cached plan must not change result type/.test(String((error as Error).message));
}

/**
 * pg's client, naming every parameterised statement that Kysely sends as text (see
 * statementNames). A statement whose prepared form broke runs unnamed from then on (inside a
 * transaction the failed try has already aborted it: the caller's transaction fails and is run
 * again by its caller, as after any other error).
 */
class PreparingClient extends pg.Client {
  // pg's query() has many overloads; only (text, values) with no callback — Kysely's call — is named.
  override query(...args: unknown[]): never {
    const [text, values, callback] = args;
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined) {
      const name = statementName(text);
      if (name) {
        const named = super.query({ name, text, values }) as Promise<pg.QueryResult>;
        return named.catch((error: unknown) => {
          if (!preparedStatementBroken(error)) throw error;
          statementNames.set(text, null);
          return super.query(text, values);
        }) as never;
      }
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

export interface PoolOptions {
  readonly max: number;
  readonly applicationName?: string;
}

export function createPool(url: string, options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    Client: PreparingClient,
    max: options.max,
    types: pgTypes,
    application_name: options.applicationName ?? 'paycore',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client's error (the server restarted) must not crash the process; the pool drops it.
  pool.on('error', () => undefined);
  return pool;
}

/** A typed Kysely handle over an existing pool; handles over one pool share its connections. */
export function createKysely<DB>(pool: pg.Pool): Kysely<DB> {
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}

/** Replaces the database name in a postgres URL. */
export function withDatabaseName(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + encodeURIComponent(database);
  return parsed.toString();
}

/** Creates a database if it does not exist, through the server's maintenance database. */
export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new pg.Client({ connectionString: withDatabaseName(url, 'postgres') });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) {
      await admin.query(`create database ${admin.escapeIdentifier(name)}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently by another process
      });
    }
  } finally {
    await admin.end();
  }
}
