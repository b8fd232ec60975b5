/**
 * Bank alpha's wire format: JSON bodies, camelCase fields, amounts as strings of minor units,
 * every message (both ways) signed in headers: X-Alpha-Timestamp (unix ms) and
 * X-Alpha-Signature = hex HMAC-SHA256(secret, "<timestamp>\n<raw body>").
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { SimReply, Txn } from './sim-model.js';
import type { Decoded, Encoded, SimCodec } from './sim-codec.js';

const replayWindowMs = 5 * 60_000;
const services: Record<string, string> = { 'sign-apply': 'sign_apply', 'sign-confirm': 'sign_confirm', pay: 'pay', refund: 'refund', payout: 'payout', query: 'query' };

function signature(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${body}`).digest('hex');
}

function signed(secret: string, status: number, value: unknown): Encoded {
  const body = JSON.stringify(value);
  const timestamp = String(Date.now());
  return { status, contentType: 'application/json', headers: { 'x-alpha-timestamp': timestamp, 'x-alpha-signature': signature(secret, timestamp, body) }, body };
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 512 ? value : undefined;
}

function txnView(txn: Txn): Record<string, unknown> {
  return {
    requestId: txn.requestId,
    bankRef: txn.bankRef,
    service: txn.service.toUpperCase(),
    amount: txn.amount.toString(),
    currency: txn.currency,
    status: txn.status,
    reason: txn.status === 'FAILED' ? txn.reason : null,
    finishedAt: txn.finishedAt === null ? null : new Date(txn.finishedAt).toISOString(),
  };
}

export function alphaCodec(secret: string): SimCodec {
  return {
    matches: (path) => path.startsWith('/alpha/api/'),
    decode(path: string, headers: IncomingHttpHeaders, raw: string): Decoded {
      const timestamp = headers['x-alpha-timestamp'];
      const given = headers['x-alpha-signature'];
      if (typeof timestamp !== 'string' || typeof given !== 'string') return { ok: false, status: 401, reason: 'BAD_SIGNATURE' };
      const expected = Buffer.from(signature(secret, timestamp, raw));
      const actual = Buffer.from(given);
      if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return { ok: false, status: 401, reason: 'BAD_SIGNATURE' };
      if (Math.abs(Date.now() - Number(timestamp)) > replayWindowMs) return { ok: false, status: 401, reason: 'BAD_SIGNATURE' };
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return { ok: false, status: 400, reason: 'MALFORMED' };
      }
      const service = services[path.slice('/alpha/api/'.length)];
      const amountText = str(body.amount);
      const amount = amountText && /^[1-9]\d{0,17}$/.test(amountText) ? BigInt(amountText) : undefined;
      const currency = str(body.currency) ?? 'CNY';
      const notifyUrl = str(body.notifyUrl) ?? null;
      const requestId = str(body.requestId);
      const bad: Decoded = { ok: false, status: 400, reason: 'MALFORMED' };
      switch (service) {
        case 'sign_apply': {
          const [cardNo, holderName, phone] = [str(body.cardNo), str(body.holderName), str(body.phone)];
          return requestId && cardNo && holderName && phone ? { ok: true, request: { service, requestId, cardNo, holderName, phone } } : bad;
        }
        case 'sign_confirm': {
          const [signId, smsCode] = [str(body.signId), str(body.smsCode)];
          return signId && smsCode ? { ok: true, request: { service, signId, smsCode } } : bad;
        }
        case 'pay':
        case 'payout': {
          const agreementNo = str(body.agreementNo);
          return requestId && agreementNo && amount ? { ok: true, request: { service, requestId, agreementNo, amount, currency, notifyUrl } } : bad;
        }
        case 'refund': {
          const originalRequestId = str(body.originalRequestId);
          return requestId && originalRequestId && amount ? { ok: true, request: { service, requestId, originalRequestId, amount, currency, notifyUrl } } : bad;
        }
        case 'query':
          return requestId ? { ok: true, request: { service, requestId } } : bad;
        default:
          return bad;
      }
    },
    encodeReply(reply: Exclude<SimReply, { result: 'HANG' }>): Encoded {
      switch (reply.result) {
        case 'SMS_SENT':
          return signed(secret, 200, { resultCode: 'SMS_SENT', signId: reply.signId });
        case 'SIGNED':
          return signed(secret, 200, { resultCode: 'SIGNED', agreementNo: reply.agreementNo, last4: reply.last4 });
        case 'ACCEPTED':
        case 'FOUND':
          return signed(secret, 200, { resultCode: reply.result, txn: txnView(reply.txn) });
        case 'NOT_FOUND':
          return signed(secret, 200, { resultCode: 'NOT_FOUND' });
        case 'REJECTED':
          return signed(secret, 200, { resultCode: 'REJECTED', reason: reply.reason });
      }
    },
    encodeRefusal: (status, reason) => signed(secret, status, { resultCode: 'REJECTED', reason }),
    encodeCallback: (txn) => signed(secret, 200, { event: 'TXN_RESULT', txn: txnView(txn) }),
    acknowledged(status, body) {
      if (status !== 200) return false;
      try {
        return (JSON.parse(body) as { resultCode?: string }).resultCode === 'OK';
      } catch {
        return false;
      }
    },
  };
}
