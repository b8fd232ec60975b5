/**
 * Alipay's asynchronous notifications, on the notify subsystem's delivery machinery: a delivery
 * kind (form-encoded, RSA2-signed with the app's platform key, the literal `success` as the
 * acknowledgement, Alipay's retry schedule) and a consumer that turns trade and refund events of
 * gateway trades into such deliveries. The stored body fixes notify_id for every try;
 * notify_time and the signature are made afresh at each try.
 */
import type { Transaction } from 'kysely';
import { asClientObjectPayload, type BusEvent, type ConsumerSpec } from '../events/index.js';
import type { DeliveryKind, NotifyDB, NotifyService } from '../notify/index.js';
import type { Logger } from '../platform/index.js';
import { formatYuan } from './alipay-amount.js';
import type { AlipayApp, AlipayAppService } from './alipay-app.service.js';
import type { AlipayLinkRepository } from './alipay-link.repository.js';
import type { TradeLinkRow } from './alipay.table.js';
import { tradeStatusOf } from './alipay-methods.js';
import { formatAlipayTime } from './alipay-time.js';
import { notifyContent, signRsa2 } from './rsa-signature.js';
import type { PortTrade, TradeCorePort } from './trade-core.port.js';

export const alipayDeliveryKind = 'alipay';

export function alipayKind(apps: AlipayAppService, options: { scheduleMs: readonly number[]; timeoutMs: number; timeZone: string }): DeliveryKind {
  return {
    name: alipayDeliveryKind,
    scheduleMs: options.scheduleMs,
    timeoutMs: options.timeoutMs,
    async prepare(delivery, now) {
      const params = JSON.parse(delivery.body) as Record<string, string>;
      // Read per try: the key that signs is the app's current one.
      const app = await apps.get(params.app_id ?? '');
      if (!app) throw new Error('the app of this notification no longer exists');
      const signed: Record<string, string> = { ...params, notify_time: formatAlipayTime(now, options.timeZone) };
      signed.sign = signRsa2(notifyContent(signed), app.platformPrivateKey);
      signed.sign_type = 'RSA2';
      return { headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' }, body: new URLSearchParams(signed).toString() };
    },
    acknowledged: (status, responseText) => status === 200 && responseText.trim() === 'success',
  };
}

export interface AlipayNotifyDeps {
  readonly apps: AlipayAppService;
  readonly links: AlipayLinkRepository;
  readonly trades: TradeCorePort;
  readonly notify: NotifyService;
  readonly timeZone: string;
  readonly logger: Logger;
}

function amountOf(value: unknown): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  throw new Error(`not an amount: ${String(value)}`);
}

function dateOf(value: unknown): Date | undefined {
  return typeof value === 'string' && value ? new Date(value) : undefined;
}

/** A trade as a client-visible event shows it (API.md's trade object). */
function tradeFromObject(object: Record<string, unknown>): PortTrade {
  return {
    id: String(object.id),
    outTradeNo: String(object.out_trade_no),
    status: object.status as PortTrade['status'],
    amount: amountOf(object.amount),
    paidAmount: amountOf(object.paid_amount ?? 0),
    refundedAmount: amountOf(object.refunded_amount ?? 0),
    buyerId: typeof object.buyer_id === 'string' ? object.buyer_id : undefined,
    subject: typeof object.subject === 'string' ? object.subject : undefined,
    createdAt: dateOf(object.created_at) ?? new Date(0),
    paidAt: dateOf(object.paid_at),
  };
}

/** Trade events Alipay tells the merchant about (creation and payment attempts are WAIT_BUYER_PAY: never). */
const notifiedTradeEvents = ['trade.paid', 'trade.finished', 'trade.closed'] as const;

/** What the handler needs of a gateway trade's event, read before the transaction. */
interface AlipayTarget {
  readonly link: TradeLinkRow & { readonly notify_url: string };
  readonly app: AlipayApp;
  readonly trade: PortTrade;
}

/** The trade an event is about: a refund's trade_id, else the object's own id. */
function tradeIdOf(event: BusEvent): string | undefined {
  const payload = asClientObjectPayload(event.payload);
  if (!payload) return undefined;
  const id = event.type.startsWith('refund.') ? payload.object.trade_id : payload.object.id;
  return typeof id === 'string' ? id : undefined;
}

export function alipayNotifyConsumer(deps: AlipayNotifyDeps): ConsumerSpec<AlipayTarget | undefined> {
  const zone = deps.timeZone;
  const time = (date: Date | undefined): string | undefined => (date ? formatAlipayTime(date, zone) : undefined);

  /** The target of one event given its trade's link; undefined when Alipay is not told about it. */
  const targetOf = async (event: BusEvent, link: TradeLinkRow | undefined): Promise<AlipayTarget | undefined> => {
    const payload = asClientObjectPayload(event.payload);
    if (!payload || !link?.notify_url) return undefined; // not a gateway trade, or no notify_url asked for
    const isRefund = event.type.startsWith('refund.');
    if (isRefund && payload.object.status !== 'success') return undefined;
    const trade = isRefund ? await deps.trades.getTrade(payload.client_id, link.trade_id) : tradeFromObject(payload.object);
    if (!trade) {
      deps.logger.warn({ eventId: event.id, tradeId: link.trade_id }, 'alipay notification for a trade the core no longer finds');
      return undefined;
    }
    const status = tradeStatusOf(trade.status);
    // A refund that closed the trade is told once, by the trade's own closed event (as Alipay does).
    if (status === 'WAIT_BUYER_PAY' || (isRefund && status === 'TRADE_CLOSED')) return undefined;
    const app = await deps.apps.get(link.app_id);
    return app ? { link: { ...link, notify_url: link.notify_url }, app, trade } : undefined;
  };

  return {
    name: 'alipay-notify',
    topics: [...notifiedTradeEvents, 'refund.*'],
    subsystem: 'notify',
    async load(events) {
      // Every trade link of the batch in one query; most trades are not the gateway's.
      const links = await deps.links.tradeLinks(events.map(tradeIdOf).filter((id): id is string => id !== undefined));
      const targets: Array<AlipayTarget | undefined> = [];
      for (const event of events) {
        const id = tradeIdOf(event);
        targets.push(await targetOf(event, id === undefined ? undefined : links.get(id)));
      }
      return targets;
    },
    // Not a gateway trade (or nothing Alipay is told): no transaction, no processed record.
    skips: (_event, target) => target === undefined,
    async handle(event: BusEvent, trx: Transaction<NotifyDB>, target: AlipayTarget | undefined) {
      const payload = asClientObjectPayload(event.payload);
      if (!payload || !target) return;
      const { link, app, trade } = target;
      const isRefund = event.type.startsWith('refund.');
      const status = tradeStatusOf(trade.status);
      const refundedAt = isRefund ? (dateOf(payload.object.finished_at) ?? new Date(event.occurredAt)) : status === 'TRADE_CLOSED' && trade.refundedAmount > 0n ? dateOf(payload.object.closed_at) : undefined;
      const params: Record<string, string | undefined> = {
        notify_type: 'trade_status_sync',
        notify_id: event.id.replace(/-/g, ''),
        app_id: link.app_id,
        charset: 'utf-8',
        version: '1.0',
        trade_no: trade.id,
        out_trade_no: trade.outTradeNo,
        trade_status: status,
        total_amount: formatYuan(trade.amount),
        receipt_amount: trade.paidAmount > 0n ? formatYuan(trade.paidAmount) : undefined,
        buyer_id: trade.buyerId,
        gmt_payment: time(trade.paidAt),
        refund_fee: trade.refundedAmount > 0n ? formatYuan(trade.refundedAmount) : undefined,
        gmt_refund: time(refundedAt),
      };
      const body = JSON.stringify(Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)));
      await deps.notify.enqueue(trx, { kind: alipayDeliveryKind, clientId: app.clientId, eventId: event.id, eventType: event.type, url: link.notify_url, body });
    },
  };
}
