/**
 * The `paycore` command. Every subcommand works against the same database as a running server:
 * DATABASE_URL when set, else the embedded cluster under ./data (joined if the server runs).
 */
import { parseArgs } from 'node:util';
import { operatorRoles, type OperatorRole } from '../access/index.js';
import { ConfigError, createLogger, loadConfig, type Config } from '../platform/index.js';
import { createRuntime, openDatabases } from '../runtime/index.js';

const usage = `usage: paycore <command>

  start                                      API and background workers in one process
  migrate                                    apply pending database migrations
  client create --name N [--json]            create an API client; prints its key once
  operator create --name N --role R [--json] create an operator (viewer|operator|admin)
`;

function fail(message: string): never {
  process.stderr.write(`paycore: ${message}\n`);
  process.exit(2);
}

function print(json: boolean, value: Record<string, unknown>, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human}\n`);
}

async function withDatabases<T>(config: Config, fn: (opened: Awaited<ReturnType<typeof openDatabases>>, applied: string[]) => Promise<T>): Promise<T> {
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const opened = await openDatabases(config, logger);
  try {
    const applied = await opened.databases.migrate();
    return await fn(opened, applied);
  } finally {
    await opened.close();
  }
}

async function start(config: Config): Promise<void> {
  const began = Date.now();
  const logger = createLogger(config.logLevel);
  const opened = await openDatabases(config, logger);
  const applied = await opened.databases.migrate();
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  const runtime = await createRuntime({ config, logger, databases: opened.databases });
  let demo: { api_key: string } | undefined;
  if ((await runtime.clients.count()) === 0) demo = await runtime.clients.create({ name: 'demo' });
  await runtime.http.listen({ port: config.port, host: config.host });
  runtime.startWorkers();
  const base = `http://${config.host}:${(runtime.http.server.address() as { port: number }).port}`;
  const lines = [
    `Paycore is up in ${((Date.now() - began) / 1000).toFixed(1)} s (${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL in ${config.dataDir}`})`,
    `  API       ${base}/v1`,
    `  health    ${base}/healthz  ${base}/readyz`,
    `  metrics   ${base}/metrics`,
    `  console   ${base}/console`,
  ];
  if (demo) lines.push(`  demo client API key (shown once): ${demo.api_key}`);
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await runtime.http.close();
    await runtime.stopWorkers();
    await opened.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

async function main(argv: string[]): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const [command, sub, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(config);
    case 'migrate': {
      const names = await withDatabases(config, async (_opened, applied) => applied);
      process.stdout.write(names.length ? `applied:\n  ${names.join('\n  ')}\n` : 'up to date\n');
      return;
    }
    case 'client': {
      if (sub !== 'create') fail(usage);
      const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, json: { type: 'boolean', default: false } } });
      if (!values.name) fail('client create needs --name');
      const name = values.name;
      const created = await withDatabases(config, async ({ databases }) => {
        const { ClientService } = await import('../access/index.js');
        return new ClientService(databases.get('access')).create({ name });
      });
      print(values.json ?? false, { ...created }, `client ${created.id} (${created.name})\n  api_key:       ${created.api_key}\n  notify_secret: ${created.notify_secret}`);
      return;
    }
    case 'operator': {
      if (sub !== 'create') fail(usage);
      const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, role: { type: 'string' }, json: { type: 'boolean', default: false } } });
      if (!values.name) fail('operator create needs --name');
      const role = values.role as OperatorRole | undefined;
      if (!role || !operatorRoles.includes(role)) fail(`--role must be one of ${operatorRoles.join(', ')}`);
      const name = values.name;
      const result = await withDatabases(config, async ({ databases }) => {
        const { OperatorService } = await import('../access/index.js');
        return new OperatorService(databases.get('access')).create(name, role);
      });
      if (!result.ok) fail(`an operator named "${name}" already exists`);
      const op = result.operator;
      print(values.json ?? false, { id: op.id, name: op.name, role: op.role, password: op.password, token: op.token }, `operator ${op.id} (${op.name}, ${op.role})\n  password: ${op.password}\n  token:    ${op.token}`);
      return;
    }
    default:
      process.stdout.write(usage);
      if (command && command !== 'help' && command !== '--help') process.exit(2);
  }
}

await main(process.argv.slice(2));
