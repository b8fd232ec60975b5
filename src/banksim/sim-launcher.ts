/**
 * `paycore start` runs the default simulated banks as child processes (the same CLI entry with
 * `bank-sim`), so the quick start has working channels. Children die with the parent: they are
 * stopped on shutdown and also exit when the parent's stdin pipe to them closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config, Logger } from '../platform/index.js';
import { bankNames } from './bank-profile.js';

export interface LaunchedBanks {
  stop(): Promise<void>;
}

const stopGraceMs = 3_000;

/** `entry` is the CLI script to run (default: the one this process runs). */
export function launchSimulators(config: Config, logger: Logger, callbackBaseUrl: string, entry: string = process.argv[1]!, options: { env?: NodeJS.ProcessEnv } = {}): LaunchedBanks {
  const children: ChildProcess[] = [];
  let stopping = false;
  for (const bank of bankNames) {
    const url = new URL(config.banks[bank].url);
    if (!['127.0.0.1', 'localhost'].includes(url.hostname)) {
      logger.info({ bank, url: url.origin }, 'bank is not local; not starting a simulator for it');
      continue;
    }
    const args = [...process.execArgv, entry, 'bank-sim', '--bank', bank, '--port', url.port || '80', '--data-dir', path.join(config.dataDir, 'banks', bank), '--callback-url', `${callbackBaseUrl}/callbacks/banks/${bank}`, '--exit-with-stdin'];
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    const log = logger.child({ bank });
    child.stdout!.on('data', (chunk: Buffer) => log.info(chunk.toString().trim()));
    child.stderr!.on('data', (chunk: Buffer) => log.warn(chunk.toString().trim()));
    child.once('exit', (code, signal) => {
      if (!stopping) log.warn({ code, signal }, 'simulated bank exited (port taken? see above)');
    });
    children.push(child);
  }
  return {
    async stop() {
      stopping = true;
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
