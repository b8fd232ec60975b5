/** Small HTTP and behaviour helpers the simulator's server and admin surface share. */
import type http from 'node:http';
import type { Behaviour } from './sim-model.js';

const bodyMaxBytes = 64 * 1024;

const behaviourFields: Record<string, { key: keyof Behaviour; kind: 'ms' | 'rate' | 'bool' }> = {
  latency_ms: { key: 'latencyMs', kind: 'ms' },
  latency_jitter_ms: { key: 'latencyJitterMs', kind: 'ms' },
  failure_rate: { key: 'failureRate', kind: 'rate' },
  timeout_rate: { key: 'timeoutRate', kind: 'rate' },
  duplicate_callback_rate: { key: 'duplicateCallbackRate', kind: 'rate' },
  late_callback_ms: { key: 'lateCallbackMs', kind: 'ms' },
  down: { key: 'down', kind: 'bool' },
  unknown_settle_ms: { key: 'unknownSettleMs', kind: 'ms' },
};

export function behaviourJson(b: Behaviour): Record<string, unknown> {
  return Object.fromEntries(Object.entries(behaviourFields).map(([name, f]) => [name, b[f.key]]));
}

/** Applies a partial update in wire form; a message naming the bad field, or the new behaviour. */
export function updateBehaviour(current: Behaviour, patch: Record<string, unknown>): Behaviour | string {
  const next: Record<string, unknown> = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    const field = behaviourFields[name];
    if (!field) return `unknown field ${name}`;
    const ok =
      field.kind === 'bool' ? typeof value === 'boolean' : field.kind === 'rate' ? typeof value === 'number' && value >= 0 && value <= 1 : Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 600_000;
    if (!ok) return `bad value for ${name}`;
    next[field.key] = value;
  }
  return next as unknown as Behaviour;
}

export function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= bodyMaxBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > bodyMaxBytes ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

