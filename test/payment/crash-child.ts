/**
 * A payment that dies between try and confirm: run as a child process by crash.test.ts. It builds
 * the runtime over the parent's databases, pays the trade it is given (full TCC), prints TRIED once
 * the participants have tried, and waits there until the parent kills it with SIGKILL.
 */
import { Databases, createLogger, loadConfig } from '../../src/platform/index.js';
import { createRuntime } from '../../src/runtime/index.js';

const [main, ledgerUrl, marketingUrl, clientId, tradeId, couponId] = process.argv.slice(2) as [string, string, string, string, string, string];
const perSubsystem = { ledger: ledgerUrl, marketing: marketingUrl };
const config = loadConfig({}, { databaseUrl: main, subsystemDatabaseUrls: perSubsystem, dbPoolMax: 4 });
const databases = new Databases({ main, perSubsystem }, config.dbPoolMax);
const runtime = await createRuntime({ config, logger: createLogger('silent'), databases });
runtime.trade.payment.manager.hooks.afterTry = async () => {
  process.stdout.write('TRIED\n');
  await new Promise(() => undefined);
};
await runtime.trade.trades.pay({ client: clientId, traceId: 'crash-child-trace' }, clientId, tradeId, { methods: [{ tool: 'coupon', coupon_id: couponId }, { tool: 'balance' }] });
process.stdout.write('PAID (the hook should have stopped it)\n');
