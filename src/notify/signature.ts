/**
 * The merchant notification signature (API.md): `Paycore-Signature: t=<unix seconds>,v1=<hex
 * HMAC-SHA256(notify secret, "<t>.<raw body>")>`. The timestamp is signed too, so a receiver can
 * refuse old replays; verifySignature is what a receiver (and the tests) run.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const signatureHeader = 'paycore-signature';

export function signPayload(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** True when `header` signs `body` with `secret` and its time is within `toleranceSeconds` of now. */
export function verifySignature(header: string | undefined, secret: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return false;
  const t = Number(match[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, t, body).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}
