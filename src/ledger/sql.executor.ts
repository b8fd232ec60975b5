/**
 * One way to run the ledger's SQL over either the pool (the posting engine, one statement per
 * batch, no Kysely compile step) or a caller's Kysely transaction (the one-phase path), so both
 * run exactly the same SQL text.
 */
import type pg from 'pg';
import { CompiledQuery, type Kysely } from 'kysely';

export type Row = Record<string, unknown>;

/** Runs one parameterised statement and returns its rows; a name makes it a prepared statement where possible. */
export type Executor = (text: string, values: readonly unknown[], name?: string) => Promise<Row[]>;

export function poolExecutor(pool: pg.Pool): Executor {
  return async (text, values, name) => (await pool.query<Row>({ text, values: values as unknown[], ...(name ? { name } : {}) })).rows;
}

/** A Kysely handle or transaction (`Transaction<DB>` extends `Kysely<DB>`). */
export function kyselyExecutor<DB>(db: Kysely<DB>): Executor {
  // Kysely has no named statements; the caller's connection parses the text each time.
  return async (text, values) => (await db.executeQuery<Row>(CompiledQuery.raw(text, [...values]))).rows;
}

/** PostgreSQL error codes after which a whole batch may simply run again. */
const retryable = new Set(['23505', '40P01', '40001']);

export function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && retryable.has((error as { code?: string }).code ?? '');
}
