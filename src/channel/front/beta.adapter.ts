/**
 * Bank beta's adapter: form-encoded both ways, amounts as decimal strings, a `sign` field =
 * upper hex HMAC-SHA256(secret, sorted "k=v&…" of every other non-empty field but sign_type).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { formatDecimal, parseDecimal } from '../../platform/index.js';
import type { BankAdapter, BankCallResult, BankReply, BankTxn, CallbackParse } from './bank-adapter.js';
import { wireCall } from './bank-adapter.js';

const partner = 'PAYCORE';

function canonical(fields: Record<string, string>): string {
  return Object.keys(fields)
    .filter((key) => key !== 'sign' && key !== 'sign_type' && fields[key] !== '')
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
}

function sign(secret: string, fields: Record<string, string>): string {
  return createHmac('sha256', secret).update(canonical(fields)).digest('hex').toUpperCase();
}

function verified(secret: string, fields: Record<string, string>): boolean {
  const given = fields.sign ?? '';
  const expected = sign(secret, fields);
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

const statuses: Record<string, BankTxn['status']> = { PROCESSING: 'processing', TRADE_SUCCESS: 'success', TRADE_FAILED: 'failed' };

function txnOf(f: Record<string, string>): BankTxn | undefined {
  const status = statuses[f.trade_status ?? ''];
  const currency = f.fee_type || 'CNY';
  const amount = f.total_fee ? parseDecimal(f.total_fee, currency) : undefined;
  if (!f.out_trade_no || !f.trade_no || !status || amount === undefined) return undefined;
  return { requestId: f.out_trade_no, bankRef: f.trade_no, status, reason: f.fail_reason || null, amount, currency };
}

function replyOf(f: Record<string, string>): BankReply | undefined {
  if (f.is_success === 'F') return f.error === 'TRADE_NOT_EXIST' ? { type: 'not_found' } : { type: 'rejected', reason: f.error || 'REJECTED' };
  switch (f.result_code) {
    case 'SMS_SENT':
      return f.sign_no ? { type: 'sms_sent', signId: f.sign_no } : undefined;
    case 'SIGNED':
      return f.agreement_id ? { type: 'signed', agreementNo: f.agreement_id, last4: f.card_last4 ?? '' } : undefined;
    case 'ACCEPTED':
    case 'FOUND': {
      const txn = txnOf(f);
      return txn ? { type: f.result_code === 'ACCEPTED' ? 'accepted' : 'found', txn } : undefined;
    }
    default:
      return undefined;
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function betaAdapter(options: { baseUrl: string; secret: string; timeoutMs: number }): BankAdapter {
  const call = async (service: string, fields: Record<string, string>): Promise<BankCallResult> => {
    const all: Record<string, string> = { service, partner, timestamp: stamp(), nonce_str: randomBytes(8).toString('hex'), ...fields };
    all.sign_type = 'HMAC-SHA256';
    all.sign = sign(options.secret, all);
    const result = await wireCall(`${options.baseUrl}/beta/gateway`, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(all).toString() }, options.timeoutMs);
    if (!('ok' in result)) return result;
    const reply = Object.fromEntries(new URLSearchParams(result.response.body));
    if (!verified(options.secret, reply)) return { kind: 'bad_reply', detail: `HTTP ${result.response.status}, sign missing or wrong` };
    const parsed = replyOf(reply);
    return parsed ? { kind: 'answered', reply: parsed, latencyMs: result.latencyMs } : { kind: 'bad_reply', detail: `unexpected reply ${reply.result_code ?? reply.error ?? ''}` };
  };
  const money = (amount: bigint, currency: string) => ({ fee_type: currency, amount: formatDecimal(amount, currency) });
  return {
    bank: 'beta',
    signApply: (r) => call('quickpay.sign.apply', { out_request_no: r.requestId, card_no: r.cardNo, account_name: r.holderName, mobile: r.phone }),
    signConfirm: (r) => call('quickpay.sign.confirm', { sign_no: r.signId, verify_code: r.smsCode }),
    pay: (r) => {
      const m = money(r.amount, r.currency);
      return call('quickpay.pay', { out_trade_no: r.requestId, agreement_id: r.agreementNo, total_fee: m.amount, fee_type: m.fee_type, notify_url: r.notifyUrl });
    },
    payout: (r) => {
      const m = money(r.amount, r.currency);
      return call('quickpay.payout', { out_trade_no: r.requestId, agreement_id: r.agreementNo, total_fee: m.amount, fee_type: m.fee_type, notify_url: r.notifyUrl });
    },
    refund: (r) => {
      const m = money(r.amount, r.currency);
      return call('quickpay.refund', { out_refund_no: r.requestId, out_trade_no: r.originalRequestId, refund_fee: m.amount, fee_type: m.fee_type, notify_url: r.notifyUrl });
    },
    query: (requestId) => call('quickpay.query', { out_trade_no: requestId }),
    parseCallback(_headers, raw): CallbackParse {
      const fields = Object.fromEntries(new URLSearchParams(raw));
      if (!verified(options.secret, fields)) return { ok: false, reason: 'sign missing or wrong' };
      const txn = fields.notify_type === 'trade_status_sync' ? txnOf(fields) : undefined;
      return txn ? { ok: true, txn } : { ok: false, reason: 'not a trade status notification' };
    },
    callbackAck: () => ({ status: 200, contentType: 'text/plain', body: 'success' }),
    callbackRefusal: () => ({ status: 401, contentType: 'text/plain', body: 'fail' }),
  };
}
