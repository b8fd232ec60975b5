/**
 * Bank beta's wire format: application/x-www-form-urlencoded both ways, snake_case fields,
 * amounts as decimal strings ("10.50"), a `sign` field = upper-case hex
 * HMAC-SHA256(secret, "k1=v1&k2=v2…") over every other non-empty field except sign and
 * sign_type, sorted by key, values not URL-encoded. Callbacks are acknowledged with the text `success`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { formatDecimal, parseDecimal } from '../platform/money.js';
import type { SimReply, Txn } from './sim-model.js';
import type { Decoded, Encoded, SimCodec } from './sim-codec.js';

const services: Record<string, string> = {
  'quickpay.sign.apply': 'sign_apply',
  'quickpay.sign.confirm': 'sign_confirm',
  'quickpay.pay': 'pay',
  'quickpay.refund': 'refund',
  'quickpay.payout': 'payout',
  'quickpay.query': 'query',
};

/** The canonical string beta signs. */
export function betaCanonical(fields: Record<string, string>): string {
  return Object.keys(fields)
    .filter((key) => key !== 'sign' && key !== 'sign_type' && fields[key] !== '')
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
}

function sign(secret: string, fields: Record<string, string>): string {
  return createHmac('sha256', secret).update(betaCanonical(fields)).digest('hex').toUpperCase();
}

export function betaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function signedForm(secret: string, status: number, fields: Record<string, string | null | undefined>): Encoded {
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== null && value !== undefined && value !== '') clean[key] = value;
  clean.nonce_str = randomBytes(8).toString('hex');
  clean.sign_type = 'HMAC-SHA256';
  clean.sign = sign(secret, clean);
  return { status, contentType: 'application/x-www-form-urlencoded', headers: {}, body: new URLSearchParams(clean).toString() };
}

const statusText = { PROCESSING: 'PROCESSING', SUCCESS: 'TRADE_SUCCESS', FAILED: 'TRADE_FAILED' } as const;

function txnFields(txn: Txn): Record<string, string | null> {
  return {
    out_trade_no: txn.requestId,
    trade_no: txn.bankRef,
    trade_type: txn.service.toUpperCase(),
    total_fee: formatDecimal(txn.amount, txn.currency),
    fee_type: txn.currency,
    trade_status: statusText[txn.status],
    fail_reason: txn.status === 'FAILED' ? txn.reason : null,
    gmt_finish: txn.finishedAt === null ? null : betaTime(txn.finishedAt),
  };
}

export function betaCodec(secret: string): SimCodec {
  return {
    matches: (path) => path === '/beta/gateway',
    decode(_path: string, _headers: IncomingHttpHeaders, raw: string): Decoded {
      const fields = Object.fromEntries(new URLSearchParams(raw));
      const given = fields.sign ?? '';
      const expected = sign(secret, fields);
      if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) return { ok: false, status: 200, reason: 'BAD_SIGNATURE' };
      const service = services[fields.service ?? ''];
      const currency = fields.fee_type || 'CNY';
      const notifyUrl = fields.notify_url || null;
      const money = (text: string | undefined) => {
        const value = text ? parseDecimal(text, currency) : undefined;
        return value !== undefined && value > 0n ? value : undefined;
      };
      const bad: Decoded = { ok: false, status: 200, reason: 'MALFORMED' };
      switch (service) {
        case 'sign_apply': {
          const { out_request_no: requestId, card_no: cardNo, account_name: holderName, mobile: phone } = fields;
          return requestId && cardNo && holderName && phone ? { ok: true, request: { service, requestId, cardNo, holderName, phone } } : bad;
        }
        case 'sign_confirm': {
          const { sign_no: signId, verify_code: smsCode } = fields;
          return signId && smsCode ? { ok: true, request: { service, signId, smsCode } } : bad;
        }
        case 'pay':
        case 'payout': {
          const { out_trade_no: requestId, agreement_id: agreementNo } = fields;
          const amount = money(fields.total_fee);
          return requestId && agreementNo && amount ? { ok: true, request: { service, requestId, agreementNo, amount, currency, notifyUrl } } : bad;
        }
        case 'refund': {
          const { out_refund_no: requestId, out_trade_no: originalRequestId } = fields;
          const amount = money(fields.refund_fee);
          return requestId && originalRequestId && amount ? { ok: true, request: { service, requestId, originalRequestId, amount, currency, notifyUrl } } : bad;
        }
        case 'query':
          return fields.out_trade_no ? { ok: true, request: { service, requestId: fields.out_trade_no } } : bad;
        default:
          return bad;
      }
    },
    encodeReply(reply: Exclude<SimReply, { result: 'HANG' }>): Encoded {
      switch (reply.result) {
        case 'SMS_SENT':
          return signedForm(secret, 200, { is_success: 'T', result_code: 'SMS_SENT', sign_no: reply.signId });
        case 'SIGNED':
          return signedForm(secret, 200, { is_success: 'T', result_code: 'SIGNED', agreement_id: reply.agreementNo, card_last4: reply.last4 });
        case 'ACCEPTED':
        case 'FOUND':
          return signedForm(secret, 200, { is_success: 'T', result_code: reply.result, ...txnFields(reply.txn) });
        case 'NOT_FOUND':
          return signedForm(secret, 200, { is_success: 'F', error: 'TRADE_NOT_EXIST' });
        case 'REJECTED':
          return signedForm(secret, 200, { is_success: 'F', error: reply.reason });
      }
    },
    encodeRefusal: (status, reason) => signedForm(secret, status, { is_success: 'F', error: reason === 'BAD_SIGNATURE' ? 'ILLEGAL_SIGN' : 'ILLEGAL_ARGUMENT' }),
    encodeCallback: (txn) => signedForm(secret, 200, { notify_type: 'trade_status_sync', notify_time: betaTime(Date.now()), ...txnFields(txn) }),
    acknowledged: (status, body) => status === 200 && body.trim() === 'success',
  };
}
