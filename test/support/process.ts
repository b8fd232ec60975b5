/** Real processes for tests: the `paycore` bin, free ports, waiting for output. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const paycoreBin = path.join(repoRoot, 'bin', 'paycore.mjs');

export { freePort } from '../../src/platform/net.js';

/** The environment for a child: this process's, minus database settings, plus `extra`. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.endsWith('DATABASE_URL') || key.startsWith('PAYCORE_')) delete env[key];
  return { ...env, LOG_LEVEL: 'warn', ...extra };
}

export interface Spawned {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the output once `pattern` appears; rejects after timeoutMs or if the process exits. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited(): Promise<number | null>;
}

export function spawnPaycore(args: string[], env: NodeJS.ProcessEnv): Spawned {
  const child = spawn(process.execPath, [paycoreBin, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited: () => exit,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const poll = setInterval(() => {
          const match = text.match(pattern);
          if (match) {
            clearInterval(poll);
            resolve(match);
          } else if (child.exitCode !== null || Date.now() > deadline) {
            clearInterval(poll);
            reject(new Error(`waiting for ${pattern}: ${child.exitCode !== null ? `exited ${child.exitCode}` : 'timed out'}\n${text}`));
          }
        }, 25);
      });
    },
  };
}

/** Runs the bin to completion and returns its exit code and stdout. */
export async function runPaycore(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [paycoreBin, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
