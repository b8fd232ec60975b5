/**
 * Bank alpha's adapter: JSON, camelCase, amounts as strings of minor units, every message
 * signed in headers (X-Alpha-Timestamp, X-Alpha-Signature = hex HMAC-SHA256(secret, "<ts>\n<body>")).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BankAdapter, BankCallResult, BankReply, BankTxn, CallbackParse } from './bank-adapter.js';
import { wireCall } from './bank-adapter.js';

const merchantId = 'PAYCORE';
const replayWindowMs = 5 * 60_000;

function sign(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${body}`).digest('hex');
}

function verify(secret: string, headers: { get(name: string): string | null }, raw: string): boolean {
  const timestamp = headers.get('x-alpha-timestamp');
  const given = headers.get('x-alpha-signature');
  if (!timestamp || !given) return false;
  const expected = Buffer.from(sign(secret, timestamp, raw));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual) && Math.abs(Date.now() - Number(timestamp)) <= replayWindowMs;
}

const statuses: Record<string, BankTxn['status']> = { PROCESSING: 'processing', SUCCESS: 'success', FAILED: 'failed' };

function txnOf(value: unknown): BankTxn | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const t = value as Record<string, unknown>;
  const status = statuses[String(t.status)];
  if (typeof t.requestId !== 'string' || typeof t.bankRef !== 'string' || !status || typeof t.amount !== 'string' || !/^\d{1,18}$/.test(t.amount)) return undefined;
  return { requestId: t.requestId, bankRef: t.bankRef, status, reason: typeof t.reason === 'string' ? t.reason : null, amount: BigInt(t.amount), currency: typeof t.currency === 'string' ? t.currency : 'CNY' };
}

function replyOf(body: Record<string, unknown>): BankReply | undefined {
  switch (body.resultCode) {
    case 'SMS_SENT':
      return typeof body.signId === 'string' ? { type: 'sms_sent', signId: body.signId } : undefined;
    case 'SIGNED':
      return typeof body.agreementNo === 'string' ? { type: 'signed', agreementNo: body.agreementNo, last4: String(body.last4 ?? '') } : undefined;
    case 'ACCEPTED':
    case 'FOUND': {
      const txn = txnOf(body.txn);
      return txn ? { type: body.resultCode === 'ACCEPTED' ? 'accepted' : 'found', txn } : undefined;
    }
    case 'NOT_FOUND':
      return { type: 'not_found' };
    case 'REJECTED':
      return { type: 'rejected', reason: String(body.reason ?? 'REJECTED') };
    default:
      return undefined;
  }
}

export function alphaAdapter(options: { baseUrl: string; secret: string; timeoutMs: number }): BankAdapter {
  const call = async (service: string, fields: Record<string, unknown>): Promise<BankCallResult> => {
    const body = JSON.stringify({ merchantId, ...fields });
    const timestamp = String(Date.now());
    const result = await wireCall(`${options.baseUrl}/alpha/api/${service}`, { headers: { 'content-type': 'application/json', 'x-alpha-timestamp': timestamp, 'x-alpha-signature': sign(options.secret, timestamp, body) }, body }, options.timeoutMs);
    if (!('ok' in result)) return result;
    const { response } = result;
    if (!verify(options.secret, response.headers, response.body)) return { kind: 'bad_reply', detail: `HTTP ${response.status}, signature missing or wrong` };
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(response.body) as Record<string, unknown>;
    } catch {
      return { kind: 'bad_reply', detail: 'reply is not JSON' };
    }
    const reply = replyOf(parsed);
    return reply ? { kind: 'answered', reply, latencyMs: result.latencyMs } : { kind: 'bad_reply', detail: `unexpected reply ${String(parsed.resultCode)}` };
  };
  return {
    bank: 'alpha',
    signApply: (r) => call('sign-apply', { requestId: r.requestId, cardNo: r.cardNo, holderName: r.holderName, phone: r.phone }),
    signConfirm: (r) => call('sign-confirm', { signId: r.signId, smsCode: r.smsCode }),
    pay: (r) => call('pay', { requestId: r.requestId, agreementNo: r.agreementNo, amount: r.amount.toString(), currency: r.currency, notifyUrl: r.notifyUrl }),
    payout: (r) => call('payout', { requestId: r.requestId, agreementNo: r.agreementNo, amount: r.amount.toString(), currency: r.currency, notifyUrl: r.notifyUrl }),
    refund: (r) => call('refund', { requestId: r.requestId, originalRequestId: r.originalRequestId, amount: r.amount.toString(), currency: r.currency, notifyUrl: r.notifyUrl }),
    query: (requestId) => call('query', { requestId }),
    parseCallback(headers, raw): CallbackParse {
      const get = (name: string) => {
        const value = headers[name];
        return typeof value === 'string' ? value : null;
      };
      if (!verify(options.secret, { get }, raw)) return { ok: false, reason: 'signature missing or wrong' };
      try {
        const body = JSON.parse(raw) as Record<string, unknown>;
        const txn = body.event === 'TXN_RESULT' ? txnOf(body.txn) : undefined;
        return txn ? { ok: true, txn } : { ok: false, reason: 'not a transaction result' };
      } catch {
        return { ok: false, reason: 'body is not JSON' };
      }
    },
    callbackAck: () => ({ status: 200, contentType: 'application/json', body: JSON.stringify({ resultCode: 'OK' }) }),
    callbackRefusal: () => ({ status: 401, contentType: 'application/json', body: JSON.stringify({ resultCode: 'REJECTED', reason: 'BAD_SIGNATURE' }) }),
  };
}
