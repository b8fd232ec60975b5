/**
 * The Alipay open-API methods, mapped onto the trade core. One implementation serves v2 and v3:
 * each method takes the parsed business parameters and answers a MethodResult.
 */
import { newId, sha256Hex, withContext, type Clock, type PlatformContext } from '../platform/index.js';
import { formatYuan, parseYuan } from './alipay-amount.js';
import type { AlipayApp, AlipayAppService } from './alipay-app.service.js';
import type { AlipayLinkRepository, PreOrderRepository } from './alipay-link.repository.js';
import { business, invalid, missing, success, unavailable, type MethodResult } from './alipay-result.js';
import { formatAlipayTime } from './alipay-time.js';
import type { PreOrderRow } from './alipay.table.js';
import type { BillService } from './bill.service.js';
import type { PortRefund, PortTrade, PortTransfer, TradeCorePort } from './trade-core.port.js';

export interface MethodRequest {
  readonly app: AlipayApp;
  readonly method: string;
  readonly biz: Readonly<Record<string, unknown>>;
  /** The request's notify_url (v2 common parameter, v3 body field), already checked http(s). */
  readonly notifyUrl: string | undefined;
  /** Where this server answers (for qr_code and bill URLs). */
  readonly baseUrl: string;
  readonly ctx: PlatformContext;
}

export interface MethodDeps {
  readonly trades: TradeCorePort;
  readonly apps: AlipayAppService;
  readonly links: AlipayLinkRepository;
  readonly preOrders: PreOrderRepository;
  readonly bills: BillService;
  readonly clock: Clock;
  readonly maxAmountMinor: bigint;
  readonly timeZone: string;
}

/** A precreate / page.pay order without timeout_express waits this long for its scan. */
const preOrderTimeoutSeconds = 900;
/** Where a precreate's QR code points: a wallet GETs the order there and POSTs `/pay`. */
export const qrPath = '/alipay/qr';

interface OrderFields {
  readonly outTradeNo: string;
  readonly subject: string;
  readonly amount: bigint;
  readonly timeoutSeconds: number | undefined;
}

const outNoPattern = /^[A-Za-z0-9_\-.:]{1,64}$/;

type Handler = (request: MethodRequest) => Promise<MethodResult>;

/** Alipay's trade_status for a Paycore trade status. */
export function tradeStatusOf(status: PortTrade['status']): 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_FINISHED' | 'TRADE_CLOSED' {
  switch (status) {
    case 'wait_pay':
    case 'paying':
      return 'WAIT_BUYER_PAY';
    case 'success':
      return 'TRADE_SUCCESS';
    case 'finished':
      return 'TRADE_FINISHED';
    case 'closed':
      return 'TRADE_CLOSED';
  }
}

/** Paycore refusal codes → Alipay sub codes (trades). Anything unlisted is a system error. */
const tradeRefusals: Record<string, [string, string]> = {
  INSUFFICIENT_FUNDS: ['ACQ.BUYER_BALANCE_NOT_ENOUGH', 'the buyer balance is not enough'],
  PAYMENT_PASSWORD_REQUIRED: ['ACQ.PAYMENT_REQUEST_HAS_RISK', 'this payment needs the buyer payment password'],
  PAYMENT_PASSWORD_NOT_SET: ['ACQ.PAYMENT_REQUEST_HAS_RISK', 'this payment needs the buyer payment password'],
  PAYMENT_PASSWORD_LOCKED: ['ACQ.PAYMENT_REQUEST_HAS_RISK', 'the buyer payment password is locked'],
  LIMIT_EXCEEDED: ['ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR', 'the buyer payment limit is exceeded'],
  MEMBER_BLACKLISTED: ['ACQ.PAYMENT_REQUEST_HAS_RISK', 'the payment was refused by risk control'],
  PAYMENT_FAILED: ['ACQ.PAYMENT_FAIL', 'the payment did not go through'],
  TRADE_NOT_PAYABLE: ['ACQ.TRADE_STATUS_ERROR', 'the trade is not waiting for payment'],
  TRADE_NOT_CLOSABLE: ['ACQ.TRADE_STATUS_ERROR', 'only an unpaid trade can be closed'],
  TRADE_NOT_REFUNDABLE: ['ACQ.TRADE_STATUS_ERROR', 'the trade is not paid'],
  TRADE_CHANGED: ['ACQ.SYSTEM_ERROR', 'the trade changed while the request ran; try again'],
  REFUND_EXCEEDS_PAID: ['ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'the refund amount exceeds what is refundable'],
  OUT_TRADE_NO_CONFLICT: ['ACQ.CONTEXT_INCONSISTENT', 'this out_trade_no was used with other content'],
  OUT_REFUND_NO_CONFLICT: ['ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'this out_request_no was used with another amount'],
  NOT_FOUND: ['ACQ.TRADE_NOT_EXIST', 'the trade or its buyer does not exist'],
  INVALID_REQUEST: ['ACQ.INVALID_PARAMETER', 'the request is not valid (e.g. the buyer is the seller)'],
};

const transferRefusals: Record<string, [string, string]> = {
  INSUFFICIENT_FUNDS: ['PAYER_BALANCE_NOT_ENOUGH', 'the payer balance is not enough'],
  LIMIT_EXCEEDED: ['EXCEED_LIMIT_SM_AMOUNT', 'the transfer limit is exceeded'],
  MEMBER_BLACKLISTED: ['PAYMENT_INFO_INCONSISTENCY', 'the transfer was refused by risk control'],
  PAYMENT_PASSWORD_REQUIRED: ['EXCEED_LIMIT_SM_AMOUNT', 'a transfer this large needs the payer payment password (not part of this product)'],
  PAYMENT_PASSWORD_NOT_SET: ['EXCEED_LIMIT_SM_AMOUNT', 'a transfer this large needs the payer payment password (not part of this product)'],
  OUT_BIZ_NO_CONFLICT: ['PAYMENT_INFO_INCONSISTENCY', 'out_biz_no was already used with other content'],
  CARD_NOT_ACTIVE: ['PAYEE_CARD_INFO_ERROR', 'the card is not bound and verified'],
  PAYMENT_CHANNEL_REFUSED: ['PAYEE_CARD_INFO_ERROR', 'no bank channel took the payout'],
  NOT_FOUND: ['PAYEE_NOT_EXIST', 'the payee does not exist'],
  INVALID_REQUEST: ['PAYEE_NOT_EXIST', 'the payee is the payer'],
};

function refusal(table: Record<string, [string, string]>, code: string): MethodResult {
  if (code === 'DEPENDENCY_UNAVAILABLE') return unavailable();
  const mapped = table[code];
  return mapped ? business(mapped[0], mapped[1]) : business(table === transferRefusals ? 'SYSTEM_ERROR' : 'ACQ.SYSTEM_ERROR', `refused: ${code}`);
}

/** A business string parameter (a JSON number is taken as its text): length 1..max, no control characters. */
function text(biz: Readonly<Record<string, unknown>>, name: string, max: number): { ok: true; value: string | undefined } | { ok: false; result: MethodResult } {
  const raw = biz[name];
  if (raw === undefined || raw === null || raw === '') return { ok: true, value: undefined };
  if (typeof raw !== 'string' && typeof raw !== 'number') return { ok: false, result: invalid('isv.invalid-parameter', `${name} must be a string`) };
  const value = String(raw);
  if (value.length > max || /[\u0000-\u001f]/.test(value)) return { ok: false, result: invalid('isv.invalid-parameter', `${name} is invalid`) };
  return { ok: true, value };
}

export class AlipayMethods {
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly deps: MethodDeps) {
    this.handlers = {
      'alipay.trade.create': (r) => this.createTrade(r),
      'alipay.trade.precreate': (r) => this.preCreate(r),
      'alipay.trade.page.pay': (r) => this.preCreate(r),
      'alipay.trade.pay': (r) => this.payAtTill(r),
      'alipay.trade.query': (r) => this.query(r),
      'alipay.trade.refund': (r) => this.refund(r),
      'alipay.trade.fastpay.refund.query': (r) => this.refundQuery(r),
      'alipay.trade.close': (r) => this.close(r),
      'alipay.trade.cancel': (r) => this.cancel(r),
      'alipay.fund.trans.uni.transfer': (r) => this.transfer(r),
      'alipay.data.dataservice.bill.downloadurl.query': (r) => this.billUrl(r),
    };
  }

  supports(method: string): boolean {
    return Object.hasOwn(this.handlers, method);
  }

  run(request: MethodRequest): Promise<MethodResult> {
    const handler = this.handlers[request.method];
    if (!handler) return Promise.resolve(invalid('isv.invalid-method', `unknown method ${request.method}`));
    return handler(request);
  }

  private time(date: Date | undefined): string | undefined {
    return date ? formatAlipayTime(date, this.deps.timeZone) : undefined;
  }

  private async seller(request: MethodRequest): Promise<string> {
    if (request.app.sellerMemberId) return request.app.sellerMemberId;
    const memberId = await this.deps.trades.ensureMerchant(request.ctx, request.app.clientId, request.app.name);
    return this.deps.apps.setSeller(request.app.appId, memberId);
  }

  /** The order fields create, precreate, page.pay and pay share. */
  private orderFields(biz: Readonly<Record<string, unknown>>): { ok: true; fields: OrderFields } | { ok: false; result: MethodResult } {
    const outTradeNo = text(biz, 'out_trade_no', 64);
    if (!outTradeNo.ok) return outTradeNo;
    if (!outTradeNo.value) return { ok: false, result: missing('out_trade_no') };
    if (!outNoPattern.test(outTradeNo.value)) return { ok: false, result: invalid('isv.invalid-parameter', 'out_trade_no may hold letters, digits, _ - . : only') };
    const subject = text(biz, 'subject', 256);
    if (!subject.ok) return subject;
    if (!subject.value) return { ok: false, result: missing('subject') };
    const amount = parseYuan(biz.total_amount, this.deps.maxAmountMinor);
    if (!amount.ok) {
      return { ok: false, result: amount.reason === 'missing' ? missing('total_amount') : invalid('isv.invalid-parameter', 'total_amount must be yuan with at most two decimals, 0.01 to 100000000.00') };
    }
    const timeout = timeoutSeconds(biz.timeout_express);
    if (timeout === 'invalid') return { ok: false, result: invalid('isv.invalid-parameter', 'timeout_express must look like 90m, 2h, 1d or 1c') };
    return { ok: true, fields: { outTradeNo: outTradeNo.value, subject: subject.value, amount: amount.amount, timeoutSeconds: timeout } };
  }

  /** Creates (or finds again) the core trade of an order with a known buyer, and remembers it. */
  private async openTrade(request: MethodRequest, fields: OrderFields, buyerId: string, notifyUrl: string | undefined): Promise<{ ok: true; trade: PortTrade } | { ok: false; result: MethodResult }> {
    const created = await this.deps.trades.createTrade(withContext(request.ctx, { scene: request.method, tradeType: 'instant' }), {
      clientId: request.app.clientId,
      outTradeNo: fields.outTradeNo,
      amount: fields.amount,
      subject: fields.subject,
      buyerId,
      sellerId: await this.seller(request),
      timeoutSeconds: fields.timeoutSeconds,
      scene: request.method,
    });
    if (!created.ok) return { ok: false, result: refusal(tradeRefusals, created.code) };
    const trade = created.value;
    await this.deps.links.linkTrade({ trade_id: trade.id, app_id: request.app.appId, out_trade_no: trade.outTradeNo, method: request.method, subject: fields.subject, notify_url: notifyUrl ?? null });
    return { ok: true, trade };
  }

  /** create: a wait_pay trade for a known buyer (Alipay's create needs buyer_id too). */
  private async createTrade(request: MethodRequest): Promise<MethodResult> {
    const parsed = this.orderFields(request.biz);
    if (!parsed.ok) return parsed.result;
    const buyer = text(request.biz, 'buyer_id', 64);
    if (!buyer.ok) return buyer.result;
    if (!buyer.value) return missing('buyer_id');
    if (!(await this.deps.trades.memberExists(request.app.clientId, buyer.value))) return business('ACQ.BUYER_NOT_EXIST', 'the buyer does not exist');
    const opened = await this.openTrade(request, parsed.fields, buyer.value, request.notifyUrl);
    if (!opened.ok) return opened.result;
    const trade = opened.trade;
    if (trade.status === 'closed') return business('ACQ.TRADE_HAS_CLOSE', 'a trade with this out_trade_no exists and is closed');
    if (trade.status !== 'wait_pay') return business('ACQ.TRADE_HAS_SUCCESS', 'a trade with this out_trade_no exists and was paid');
    return success({ out_trade_no: trade.outTradeNo, trade_no: trade.id });
  }

  /**
   * precreate / page.pay: the buyer is not known until someone scans, so (as at Alipay) no trade
   * exists yet; the order waits in alipay.pre_order and qr_code is where a wallet pays it.
   */
  private async preCreate(request: MethodRequest): Promise<MethodResult> {
    const parsed = this.orderFields(request.biz);
    if (!parsed.ok) return parsed.result;
    const fields = parsed.fields;
    const now = this.deps.clock.now().getTime();
    const row = await this.deps.preOrders.insertOrFind({
      id: newId(),
      app_id: request.app.appId,
      out_trade_no: fields.outTradeNo,
      method: request.method,
      amount: fields.amount,
      subject: fields.subject,
      notify_url: request.notifyUrl ?? null,
      timeout_seconds: fields.timeoutSeconds ?? null,
      expires_at: new Date(now + (fields.timeoutSeconds ?? preOrderTimeoutSeconds) * 1_000),
    });
    if (row.amount !== fields.amount || row.subject !== fields.subject) return business('ACQ.CONTEXT_INCONSISTENT', 'this out_trade_no was used with another amount or subject');
    if (row.status === 'closed') return business('ACQ.TRADE_HAS_CLOSE', 'the order is closed');
    if (row.trade_id) {
      const trade = await this.deps.trades.getTrade(request.app.clientId, row.trade_id);
      if (trade && trade.status !== 'wait_pay') return business(trade.status === 'closed' ? 'ACQ.TRADE_HAS_CLOSE' : 'ACQ.TRADE_HAS_SUCCESS', 'the order was already paid or closed');
    }
    return success({ out_trade_no: row.out_trade_no, qr_code: `${request.baseUrl}${qrPath}/${row.id}` });
  }

  /** What a wallet shows after scanning: the order, and its trade once paid. */
  async preOrderView(preOrderId: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.deps.preOrders.get(preOrderId);
    if (!row) return undefined;
    const app = await this.deps.apps.get(row.app_id);
    const trade = row.trade_id && app ? await this.deps.trades.getTrade(app.clientId, row.trade_id) : undefined;
    const status = trade ? tradeStatusOf(trade.status) : row.status === 'closed' || row.expires_at.getTime() <= this.deps.clock.now().getTime() ? 'TRADE_CLOSED' : 'WAIT_BUYER_PAY';
    return { out_trade_no: row.out_trade_no, subject: row.subject, total_amount: formatYuan(row.amount), trade_status: status, ...(trade ? { trade_no: trade.id } : {}) };
  }

  /** A wallet scanned a precreate / page.pay code: the buyer (known by a payment code) pays it from balance. */
  async payPreOrder(preOrderId: string, authCode: string, traceId: string, baseUrl: string): Promise<MethodResult> {
    const row = await this.deps.preOrders.get(preOrderId);
    const app = row ? await this.deps.apps.get(row.app_id) : undefined;
    if (!row || !app) return business('ACQ.TRADE_NOT_EXIST', 'no such order');
    if (row.status === 'closed') return business('ACQ.TRADE_HAS_CLOSE', 'the order is closed');
    if (!row.trade_id && row.expires_at.getTime() <= this.deps.clock.now().getTime()) {
      await this.deps.preOrders.close(row.id);
      return business('ACQ.TRADE_HAS_CLOSE', 'the order timed out');
    }
    const request: MethodRequest = { app, method: row.method, biz: {}, notifyUrl: row.notify_url ?? undefined, baseUrl, ctx: { client: app.clientId, traceId, merchant: app.appId } };
    const buyerId = await this.deps.trades.redeemPaymentCode(app.clientId, authCode);
    if (!buyerId) return business('ACQ.PAYMENT_AUTH_CODE_INVALID', 'the payment code is invalid or expired');
    const fields: OrderFields = { outTradeNo: row.out_trade_no, subject: row.subject, amount: row.amount, timeoutSeconds: row.timeout_seconds ?? undefined };
    const opened = await this.openTrade(request, fields, buyerId, row.notify_url ?? undefined);
    // A second scan by another buyer finds the first buyer's trade: out_trade_no conflict.
    if (!opened.ok) return opened.result;
    await this.deps.preOrders.attachTrade(row.id, opened.trade.id);
    if (opened.trade.status !== 'wait_pay') return this.paidAnswer(opened.trade);
    const paid = await this.deps.trades.payWithBalance(request.ctx, app.clientId, opened.trade.id, buyerId);
    if (!paid.ok) return refusal(tradeRefusals, paid.code);
    return this.paidAnswer(paid.value);
  }

  /** pay (bar_code): the buyer shows a one-time payment code; create the trade and pay it from the buyer's balance. */
  private async payAtTill(request: MethodRequest): Promise<MethodResult> {
    const { biz } = request;
    const scene = text(biz, 'scene', 32);
    if (!scene.ok) return scene.result;
    if (!scene.value) return missing('scene');
    if (scene.value !== 'bar_code') return invalid('isv.invalid-parameter', 'scene must be bar_code');
    const authCode = text(biz, 'auth_code', 64);
    if (!authCode.ok) return authCode.result;
    if (!authCode.value) return missing('auth_code');
    const parsed = this.orderFields(biz);
    if (!parsed.ok) return parsed.result;
    const existing = await this.deps.trades.findTrade(request.app.clientId, parsed.fields.outTradeNo);
    // A repeated pay of a settled trade answers as the first did (the till may retry after a timeout).
    if (existing && existing.status === 'closed') return business('ACQ.TRADE_HAS_CLOSE', 'the trade is closed');
    if (existing && existing.status !== 'wait_pay') return this.paidAnswer(existing);
    const buyerId = await this.deps.trades.redeemPaymentCode(request.app.clientId, authCode.value);
    if (!buyerId) return business('ACQ.PAYMENT_AUTH_CODE_INVALID', 'the payment code is invalid or expired');
    const opened = await this.openTrade(request, parsed.fields, buyerId, request.notifyUrl);
    if (!opened.ok) return opened.result;
    const paid = await this.deps.trades.payWithBalance(request.ctx, request.app.clientId, opened.trade.id, buyerId);
    if (!paid.ok) return refusal(tradeRefusals, paid.code);
    return this.paidAnswer(paid.value);
  }

  private paidAnswer(trade: PortTrade, failure?: MethodResult): MethodResult {
    if (failure) return failure;
    if (trade.status === 'wait_pay' || trade.status === 'paying') {
      // Alipay's 10003 (waiting for the buyer) has no use here: a balance payment settles at once.
      return business('ACQ.TRADE_STATUS_ERROR', 'the payment has not completed; query the trade');
    }
    return success({
      trade_no: trade.id,
      out_trade_no: trade.outTradeNo,
      buyer_user_id: trade.buyerId,
      total_amount: formatYuan(trade.amount),
      receipt_amount: formatYuan(trade.paidAmount),
      buyer_pay_amount: formatYuan(trade.paidAmount),
      gmt_payment: this.time(trade.paidAt),
      fund_bill_list: [{ fund_channel: 'ALIPAYACCOUNT', amount: formatYuan(trade.paidAmount) }],
    });
  }

  /** The trade named by trade_no or out_trade_no (both given: they must agree). */
  private async locate(request: MethodRequest): Promise<{ ok: true; trade: PortTrade } | { ok: false; result: MethodResult; preOrder?: PreOrderRow }> {
    const tradeNo = text(request.biz, 'trade_no', 64);
    if (!tradeNo.ok) return tradeNo;
    const outTradeNo = text(request.biz, 'out_trade_no', 64);
    if (!outTradeNo.ok) return outTradeNo;
    if (!tradeNo.value && !outTradeNo.value) return { ok: false, result: missing('out_trade_no') };
    const clientId = request.app.clientId;
    const trade = tradeNo.value
      ? /^[0-9a-f-]{36}$/.test(tradeNo.value)
        ? await this.deps.trades.getTrade(clientId, tradeNo.value)
        : undefined
      : await this.deps.trades.findTrade(clientId, outTradeNo.value!);
    if (!trade || (outTradeNo.value && trade.outTradeNo !== outTradeNo.value)) {
      // An unscanned precreate is no trade yet (Alipay says the same); close and cancel still act on it.
      const preOrder = !tradeNo.value ? await this.deps.preOrders.byOutTradeNo(request.app.appId, outTradeNo.value!) : undefined;
      return { ok: false, result: business('ACQ.TRADE_NOT_EXIST', 'the trade does not exist'), ...(preOrder && !preOrder.trade_id ? { preOrder } : {}) };
    }
    return { ok: true, trade };
  }

  private async query(request: MethodRequest): Promise<MethodResult> {
    const located = await this.locate(request);
    if (!located.ok) return located.result;
    const trade = located.trade;
    return success({
      trade_no: trade.id,
      out_trade_no: trade.outTradeNo,
      buyer_user_id: trade.buyerId,
      trade_status: tradeStatusOf(trade.status),
      total_amount: formatYuan(trade.amount),
      receipt_amount: formatYuan(trade.paidAmount),
      buyer_pay_amount: formatYuan(trade.paidAmount),
      send_pay_date: this.time(trade.paidAt),
    });
  }

  private async refund(request: MethodRequest): Promise<MethodResult> {
    const located = await this.locate(request);
    if (!located.ok) return located.result;
    const trade = located.trade;
    const amount = parseYuan(request.biz.refund_amount, this.deps.maxAmountMinor);
    if (!amount.ok) return amount.reason === 'missing' ? missing('refund_amount') : invalid('isv.invalid-parameter', 'refund_amount must be yuan with at most two decimals');
    const requestNo = text(request.biz, 'out_request_no', 64);
    if (!requestNo.ok) return requestNo.result;
    const reason = text(request.biz, 'refund_reason', 256);
    if (!reason.ok) return reason.result;
    // Without out_request_no Alipay treats the call as the trade's one full refund, keyed by out_trade_no.
    const outRequestNo = requestNo.value ?? trade.outTradeNo;
    const earlier = await this.deps.links.refundLink(trade.id, outRequestNo);
    if (earlier && earlier.amount !== amount.amount) return business('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'this out_request_no was used with another amount');
    if (trade.status === 'wait_pay' || trade.status === 'paying') return business('ACQ.TRADE_STATUS_ERROR', 'the trade is not paid');
    const result = await this.deps.trades.refund(withContext(request.ctx, { scene: request.method }), request.app.clientId, trade.id, {
      outRefundNo: refundNo(trade.id, outRequestNo),
      amount: amount.amount,
      reason: reason.value,
    });
    if (!result.ok) return refusal(tradeRefusals, result.code);
    const refund = result.value;
    const first = await this.deps.links.linkRefund({ refund_id: refund.id, trade_id: trade.id, out_request_no: outRequestNo, amount: amount.amount });
    const after = (await this.deps.trades.getTrade(request.app.clientId, trade.id)) ?? trade;
    if (refund.status === 'failed') return business('ACQ.SYSTEM_ERROR', 'the refund failed');
    return success({
      trade_no: trade.id,
      out_trade_no: trade.outTradeNo,
      buyer_user_id: trade.buyerId,
      fund_change: first && refund.status === 'success' ? 'Y' : 'N',
      refund_fee: formatYuan(after.refundedAmount),
      send_back_fee: formatYuan(refund.amount),
      gmt_refund_pay: this.time(refund.finishedAt ?? refund.createdAt),
    });
  }

  private async refundQuery(request: MethodRequest): Promise<MethodResult> {
    const located = await this.locate(request);
    if (!located.ok) return located.result;
    const trade = located.trade;
    const requestNo = text(request.biz, 'out_request_no', 64);
    if (!requestNo.ok) return requestNo.result;
    const outRequestNo = requestNo.value ?? trade.outTradeNo;
    const fields: Record<string, unknown> = { trade_no: trade.id, out_trade_no: trade.outTradeNo, out_request_no: outRequestNo, total_amount: formatYuan(trade.amount) };
    const link = await this.deps.links.refundLink(trade.id, outRequestNo);
    const refund: PortRefund | undefined = link ? await this.deps.trades.getRefund(request.app.clientId, link.refund_id) : undefined;
    // Alipay answers an unknown refund with success and no refund_status.
    if (!refund) return success(fields);
    const status = refund.status === 'success' ? 'REFUND_SUCCESS' : refund.status === 'failed' ? 'REFUND_FAIL' : 'REFUND_PROCESSING';
    return success({ ...fields, refund_amount: formatYuan(refund.amount), refund_status: status, gmt_refund_pay: this.time(refund.finishedAt) });
  }

  private async close(request: MethodRequest): Promise<MethodResult> {
    const located = await this.locate(request);
    if (!located.ok && located.preOrder) {
      await this.deps.preOrders.close(located.preOrder.id);
      return success({ out_trade_no: located.preOrder.out_trade_no });
    }
    if (!located.ok) return located.result;
    const trade = located.trade;
    if (trade.status === 'closed' && trade.paidAmount === 0n) return success({ trade_no: trade.id, out_trade_no: trade.outTradeNo });
    if (trade.status !== 'wait_pay') return business('ACQ.TRADE_STATUS_ERROR', 'only an unpaid trade can be closed');
    const closed = await this.deps.trades.closeTrade(withContext(request.ctx, { scene: request.method }), request.app.clientId, trade.id);
    if (!closed.ok) return refusal(tradeRefusals, closed.code);
    return success({ trade_no: trade.id, out_trade_no: trade.outTradeNo });
  }

  /** cancel: close an unpaid trade, refund a paid one in full (what is left of it). */
  private async cancel(request: MethodRequest): Promise<MethodResult> {
    const located = await this.locate(request);
    if (!located.ok && located.preOrder) {
      await this.deps.preOrders.close(located.preOrder.id);
      return success({ out_trade_no: located.preOrder.out_trade_no, retry_flag: 'N', action: 'close' });
    }
    if (!located.ok) return located.result;
    const trade = located.trade;
    const answer = (action: 'close' | 'refund'): MethodResult => success({ trade_no: trade.id, out_trade_no: trade.outTradeNo, retry_flag: 'N', action });
    if (trade.status === 'wait_pay') {
      const closed = await this.deps.trades.closeTrade(request.ctx, request.app.clientId, trade.id);
      return closed.ok ? answer('close') : refusal(tradeRefusals, closed.code);
    }
    if (trade.status === 'closed') return answer(trade.paidAmount > 0n ? 'refund' : 'close');
    if (trade.status === 'paying') return business('ACQ.TRADE_STATUS_ERROR', 'the payment is in progress; retry later');
    const remaining = trade.paidAmount - trade.refundedAmount;
    if (remaining <= 0n) return answer('refund');
    const refunded = await this.deps.trades.refund(request.ctx, request.app.clientId, trade.id, { outRefundNo: refundNo(trade.id, '\u0000cancel'), amount: remaining, reason: 'cancel' });
    if (!refunded.ok) return refusal(tradeRefusals, refunded.code);
    await this.deps.links.linkRefund({ refund_id: refunded.value.id, trade_id: trade.id, out_request_no: `cancel:${trade.outTradeNo}`, amount: remaining });
    return answer('refund');
  }

  /**
   * uni.transfer from the app's merchant member: to a member (ALIPAY_USER_ID = a member id of the
   * app), or to a card (BANKCARD_ACCOUNT = a card id: Paycore never keeps card numbers). A card of
   * the merchant itself is a payout; another member's card is a transfer to that member and then
   * its payout, each idempotent by a number derived from out_biz_no, so a repeat finishes the pair.
   */
  private async transfer(request: MethodRequest): Promise<MethodResult> {
    const { biz } = request;
    const outBizNo = text(biz, 'out_biz_no', 64);
    if (!outBizNo.ok) return outBizNo.result;
    if (!outBizNo.value) return missing('out_biz_no');
    const amount = parseYuan(biz.trans_amount, this.deps.maxAmountMinor);
    if (!amount.ok) return amount.reason === 'missing' ? missing('trans_amount') : invalid('isv.invalid-parameter', 'trans_amount must be yuan with at most two decimals');
    const payee = biz.payee_info;
    if (payee === undefined || payee === null) return missing('payee_info');
    if (typeof payee !== 'object' || Array.isArray(payee)) return invalid('isv.invalid-parameter', 'payee_info must be an object');
    const identity = text(payee as Record<string, unknown>, 'identity', 64);
    if (!identity.ok) return identity.result;
    if (!identity.value) return missing('payee_info.identity');
    const identityType = (payee as Record<string, unknown>).identity_type ?? 'ALIPAY_USER_ID';
    const remark = text(biz, 'remark', 200);
    if (!remark.ok) return remark.result;
    const clientId = request.app.clientId;
    const ctx = withContext(request.ctx, { scene: request.method, tradeType: 'transfer' });
    const key = (step: string) => `ali-${sha256Hex(`${request.app.appId}\n${outBizNo.value}\n${step}`).slice(0, 40)}`;
    const seller = await this.seller(request);
    let result;
    if (identityType === 'ALIPAY_USER_ID') {
      if (!(await this.deps.trades.memberExists(clientId, identity.value))) return business('PAYEE_NOT_EXIST', 'the payee does not exist');
      result = await this.deps.trades.transfer(ctx, clientId, { outBizNo: key('transfer'), fromMemberId: seller, toMemberId: identity.value, amount: amount.amount, memo: remark.value });
    } else if (identityType === 'BANKCARD_ACCOUNT') {
      const owner = await this.deps.trades.activeCardOwner(clientId, identity.value);
      if (!owner) return business('PAYEE_CARD_INFO_ERROR', 'no active card with this id');
      if (owner !== seller) {
        const moved = await this.deps.trades.transfer(ctx, clientId, { outBizNo: key('transfer'), fromMemberId: seller, toMemberId: owner, amount: amount.amount, memo: remark.value });
        if (!moved.ok) return refusal(transferRefusals, moved.code);
        if (moved.value.status !== 'success') return this.transferAnswer(outBizNo.value, moved.value);
      }
      result = await this.deps.trades.withdraw(ctx, clientId, { outBizNo: key('payout'), memberId: owner, cardId: identity.value, amount: amount.amount });
    } else {
      return business('PAYEE_ACCOUNT_TYPE_NOT_SUPPORT', 'identity_type must be ALIPAY_USER_ID (a member id) or BANKCARD_ACCOUNT (a card id)');
    }
    if (!result.ok) return refusal(transferRefusals, result.code);
    await this.deps.links.linkTransfer({ transfer_id: result.value.id, app_id: request.app.appId, out_biz_no: outBizNo.value, amount: amount.amount });
    return this.transferAnswer(outBizNo.value, result.value);
  }

  private transferAnswer(outBizNo: string, transfer: PortTransfer): MethodResult {
    const status = transfer.status === 'success' ? 'SUCCESS' : transfer.status === 'processing' ? 'DEALING' : 'FAIL';
    return success({ out_biz_no: outBizNo, order_id: transfer.id, pay_fund_order_id: transfer.id, status, trans_date: this.time(transfer.createdAt) });
  }

  private async billUrl(request: MethodRequest): Promise<MethodResult> {
    const billType = text(request.biz, 'bill_type', 32);
    if (!billType.ok) return billType.result;
    if (!billType.value) return missing('bill_type');
    const billDate = text(request.biz, 'bill_date', 10);
    if (!billDate.ok) return billDate.result;
    if (!billDate.value) return missing('bill_date');
    if (billType.value !== 'trade') return invalid('isv.invalid-parameter', 'bill_type must be trade');
    const url = this.deps.bills.downloadUrl(request.app, billDate.value, request.baseUrl);
    if (!url) return invalid('isv.invalid-parameter', 'bill_date must be a day, yyyy-MM-dd');
    return success({ bill_download_url: url });
  }
}

/**
 * The trade core's out_refund_no for an Alipay refund: out_request_no is unique per trade in
 * Alipay but out_refund_no per client here, and is bounded to 64 plain characters; a digest of
 * both keeps it deterministic (a repeat finds the same refund) and short.
 */
function refundNo(tradeId: string, outRequestNo: string): string {
  return `ali-${sha256Hex(`${tradeId}\n${outRequestNo}`).slice(0, 40)}`;
}

/** Alipay's timeout_express ("90m", "2h", "1d", "1c" = today) → seconds; absent → undefined. */
function timeoutSeconds(value: unknown): number | undefined | 'invalid' {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return 'invalid';
  const match = /^(\d{1,4})([mhdc])$/.exec(value);
  if (!match) return 'invalid';
  const n = Number(match[1]);
  const unit = match[2] === 'm' ? 60 : match[2] === 'h' ? 3_600 : 86_400;
  const seconds = n * unit;
  return seconds >= 60 && seconds <= 15 * 86_400 ? seconds : 'invalid';
}
