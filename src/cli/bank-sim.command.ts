/** `paycore bank-sim`: one simulated bank in this process, until SIGINT/SIGTERM. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isBankName, startBankSim } from '../banksim/index.js';
import type { Config } from '../platform/index.js';

export async function runBankSimCommand(config: Config, args: string[], fail: (message: string) => never): Promise<void> {
  const { values } = parseArgs({ args, options: { bank: { type: 'string' }, port: { type: 'string' }, 'data-dir': { type: 'string' }, 'callback-url': { type: 'string' }, 'exit-with-stdin': { type: 'boolean', default: false } } });
  const bank = values.bank ?? '';
  if (!isBankName(bank)) fail('bank-sim needs --bank alpha|beta');
  const port = values.port !== undefined ? Number(values.port) : Number(new URL(config.banks[bank].url).port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port must be a port number');
  const callbackUrl = values['callback-url'];
  if (callbackUrl !== undefined && !/^https?:\/\//.test(callbackUrl)) fail('--callback-url must be an http(s) URL');
  const sim = await startBankSim({
    bank,
    port,
    dataDir: path.resolve(values['data-dir'] ?? path.join(config.dataDir, 'banks', bank)),
    secret: config.banks[bank].secret,
    networkKey: config.banks.networkKey,
    callbackUrl,
    log: (message) => process.stdout.write(`${message}\n`),
  }).catch((error: { code?: string; message?: string }) => fail(`bank ${bank} cannot listen on 127.0.0.1:${port}: ${error.code ?? error.message}`));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (values['exit-with-stdin']) {
    // Spawned by `paycore start`: the parent may die without a signal; its pipe closing means we go too.
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}
