/**
 * Versioned SQL migrations, one folder per subsystem (`src/<subsystem>/migrations/NNN_name.sql`),
 * each subsystem tracked in its own schema so it can live in a database of its own. Kysely's
 * Migrator does the bookkeeping and takes an advisory lock, so concurrent starts are safe.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator, sql, type Kysely, type Migration } from 'kysely';

const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The SQL migrations a subsystem ships, in version order. */
export function subsystemMigrations(subsystem: string): Record<string, Migration> {
  const dir = path.join(srcDir, subsystem, 'migrations');
  if (!fs.existsSync(dir)) return {};
  const migrations: Record<string, Migration> = {};
  for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.sql')).sort()) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    migrations[file.replace(/\.sql$/, '')] = {
      // Simple-query protocol: a file may hold many statements; Kysely runs each in a transaction.
      up: async (db: Kysely<unknown>) => {
        await sql.raw(text).execute(db);
      },
    };
  }
  return migrations;
}

/** Applies a subsystem's pending migrations to its database; returns the names applied. */
export async function migrateSubsystem(db: Kysely<unknown>, subsystem: string): Promise<string[]> {
  const migrations = subsystemMigrations(subsystem);
  if (Object.keys(migrations).length === 0) return [];
  await sql.raw(`create schema if not exists ${subsystem}`).execute(db).catch(async (error: { code?: string }) => {
    if (error.code !== '23505' && error.code !== '42P06') throw error; // created concurrently
  });
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: subsystem,
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => `${subsystem}/${r.migrationName}`);
}
