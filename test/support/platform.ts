/**
 * Test support: each test file gets a database of its own on the run's PostgreSQL
 * (TEST_DATABASE_URL, set by scripts/test.ts; started here when a file runs alone), the full
 * runtime over it, and the HTTP app built but never listened (Fastify's inject()).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Databases, createLogger, loadConfig, startEmbedded, withDatabaseName, type Config, type Subsystem } from '../../src/platform/index.js';
import { createRuntime, type Runtime } from '../../src/runtime/index.js';

let serverUrl: Promise<string> | undefined;

/** The URL of the test server's maintenance database. */
export function testServerUrl(): Promise<string> {
  serverUrl ??= (async () => {
    if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
    // Running one file alone: share one embedded cluster across such runs.
    const dataDir = path.join(os.tmpdir(), 'paycore-test-solo');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o777 });
    const cluster = await startEmbedded({ dataDir, port: 54339, database: 'postgres', fast: true });
    return cluster.url;
  })();
  return serverUrl;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabaseName(await testServerUrl(), 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new empty database; `drop()` removes it (forcibly: tests may leave connections behind). */
export async function createTestDatabase(label = 'db'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `pc_t_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await admin((client) => client.query(`create database ${client.escapeIdentifier(name)}`));
  return {
    url: withDatabaseName(await testServerUrl(), name),
    drop: () => admin((client) => client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`)).then(() => undefined),
  };
}

export interface TestPlatform {
  readonly runtime: Runtime;
  readonly databases: Databases;
  readonly config: Config;
  /** A fresh API client's bearer key. */
  newClient(name?: string): Promise<{ id: string; apiKey: string; notifySecret: string }>;
  newOperator(role: 'viewer' | 'operator' | 'admin'): Promise<{ id: string; token: string; password: string; name: string }>;
  close(): Promise<void>;
}

export interface TestPlatformOptions {
  readonly label?: string;
  readonly config?: Partial<Config>;
  /** Subsystems to place in databases of their own (the vertical split). */
  readonly separate?: Subsystem[];
}

/** The whole platform over a fresh database, migrated, workers not started. */
export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const main = await createTestDatabase(options.label);
  const extra: Array<{ url: string; drop(): Promise<void> }> = [];
  const perSubsystem: Partial<Record<Subsystem, string>> = {};
  for (const subsystem of options.separate ?? []) {
    const db = await createTestDatabase(`${options.label ?? 'db'}${subsystem}`);
    extra.push(db);
    perSubsystem[subsystem] = db.url;
  }
  const config = loadConfig({}, { databaseUrl: main.url, subsystemDatabaseUrls: perSubsystem, dbPoolMax: 10, ...options.config });
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const databases = new Databases({ main: main.url, perSubsystem }, config.dbPoolMax);
  await databases.migrate();
  const runtime = await createRuntime({ config, logger, databases });
  await runtime.http.ready();
  let operators = 0;
  return {
    runtime,
    databases,
    config,
    async newClient(name = 'test-client') {
      const created = await runtime.clients.create({ name });
      return { id: created.id, apiKey: created.api_key, notifySecret: created.notify_secret };
    },
    async newOperator(role) {
      operators += 1;
      const result = await runtime.operators.create(`op-${role}-${operators}-${process.pid}`, role);
      if (!result.ok) throw new Error('operator name taken');
      return { id: result.operator.id, token: result.operator.token, password: result.operator.password, name: result.operator.name };
    },
    async close() {
      await runtime.stopWorkers();
      await runtime.http.close();
      await databases.close();
      await main.drop();
      for (const db of extra) await db.drop();
    },
  };
}
