/**
 * Events a client may be told about (trade, refund, recharge, withdrawal, transfer state changes)
 * carry the object exactly as the API shows it, plus whose it is and where the client wants it.
 * API amounts are JSON integers, so here a bigint becomes a number (asserted safe: API amounts
 * are at most 2^53 − 1), unlike the rest of an event payload where bigints become strings.
 */
import assert from 'node:assert/strict';

export interface ClientObjectPayload {
  readonly client_id: string;
  /** The object's own notify_url, if it was given one; else the client's default URL is used. */
  readonly notify_url: string | null;
  /** The object as `GET /v1/...` returns it. */
  readonly object: Record<string, unknown>;
}

function apiJson(value: unknown): unknown {
  if (typeof value === 'bigint') {
    const number = Number(value);
    assert.ok(Number.isSafeInteger(number), 'an API amount must be at most 2^53 - 1');
    return number;
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(apiJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).map(([k, v]) => [k, apiJson(v)]));
  }
  return value;
}

/** The payload of a client-visible event. */
export function clientObjectPayload(input: { clientId: string; notifyUrl?: string | null; object: Record<string, unknown> }): ClientObjectPayload {
  return { client_id: input.clientId, notify_url: input.notifyUrl ?? null, object: apiJson(input.object) as Record<string, unknown> };
}

/** Reads a payload back as a client-visible one, or undefined when it is not one. */
export function asClientObjectPayload(payload: unknown): ClientObjectPayload | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  const p = payload as Record<string, unknown>;
  if (typeof p.client_id !== 'string' || p.object === null || typeof p.object !== 'object' || Array.isArray(p.object)) return undefined;
  if (p.notify_url !== null && p.notify_url !== undefined && typeof p.notify_url !== 'string') return undefined;
  return { client_id: p.client_id, notify_url: (p.notify_url as string | undefined) ?? null, object: p.object as Record<string, unknown> };
}
