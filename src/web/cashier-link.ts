/**
 * Cashier links: the page's only credential. The business system asks for one with its API key
 * (`POST /v1/trades/{id}/cashier-link`) and sends the buyer to it; the page never sees an API key.
 * A link names one trade of one client, an optional return URL and an expiry, signed with
 * HMAC-SHA-256 under PAYCORE_CASHIER_SECRET, so any process can check it and nothing is stored.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface CashierGrant {
  readonly tradeId: string;
  readonly clientId: string;
  readonly returnUrl: string | undefined;
  readonly expiresAt: number;
}

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(`paycore-cashier.${payload}`).digest('base64url');
}

export function issueCashierToken(secret: string, grant: CashierGrant): string {
  const payload = Buffer.from(JSON.stringify({ t: grant.tradeId, c: grant.clientId, r: grant.returnUrl ?? null, e: grant.expiresAt })).toString('base64url');
  return `${payload}.${sign(secret, payload)}`;
}

export type CashierTokenCheck = { ok: true; grant: CashierGrant } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'other_trade' };

/** Checks the signature (constant time), the expiry and that the token names `tradeId`. */
export function verifyCashierToken(secret: string, token: string, tradeId: string, nowMs: number): CashierTokenCheck {
  const match = /^([A-Za-z0-9_-]{10,2048})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return { ok: false, reason: 'malformed' };
  const [, payload, signature] = match as unknown as [string, string, string];
  const expected = Buffer.from(sign(secret, payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad_signature' };
  let parsed: { t?: unknown; c?: unknown; r?: unknown; e?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof parsed.t !== 'string' || typeof parsed.c !== 'string' || typeof parsed.e !== 'number') return { ok: false, reason: 'malformed' };
  if (parsed.t !== tradeId) return { ok: false, reason: 'other_trade' };
  if (parsed.e <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, grant: { tradeId: parsed.t, clientId: parsed.c, returnUrl: typeof parsed.r === 'string' ? parsed.r : undefined, expiresAt: parsed.e } };
}

/** A promise that settles with the value, or with `undefined` after `ms` (the source is left out). */
export async function withinMs<T>(ms: number, work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; reason: 'timeout' | 'error' }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; reason: 'timeout' }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: 'timeout' }), ms);
  });
  try {
    return await Promise.race([work().then((value) => ({ ok: true as const, value })), timeout]);
  } catch {
    return { ok: false, reason: 'error' };
  } finally {
    clearTimeout(timer);
  }
}
