/**
 * Trade bills: `bill.downloadurl.query` hands out a URL valid for a short time (30 s by default)
 * to a CSV of the app's trades created that day (in the configured zone). The URL carries its own
 * proof: an RSA2 signature by the app's platform key over (app, day, expiry), so any Paycore
 * process can serve it and nothing needs storing.
 */
import type { Clock } from '../platform/index.js';
import { formatYuan } from './alipay-amount.js';
import type { AlipayApp, AlipayAppService } from './alipay-app.service.js';
import type { AlipayLinkRepository } from './alipay-link.repository.js';
import { alipayDayBounds, formatAlipayTime } from './alipay-time.js';
import { tradeStatusOf } from './alipay-methods.js';
import { signRsa2, verifyRsa2 } from './rsa-signature.js';
import type { TradeCorePort } from './trade-core.port.js';

export const billPath = '/alipay/bill';
/** A bill lists at most this many trades; a busier day needs a real export, not this URL. */
const billRowsMax = 50_000;

export interface BillDeps {
  readonly apps: AlipayAppService;
  readonly links: AlipayLinkRepository;
  readonly trades: TradeCorePort;
  readonly clock: Clock;
  readonly timeZone: string;
  readonly ttlMs: number;
}

export type BillResult = { ok: true; filename: string; csv: string } | { ok: false; reason: 'invalid' | 'expired' };

function tokenContent(appId: string, billDate: string, expires: number): string {
  return `${appId}\n${billDate}\n${expires}`;
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export class BillService {
  constructor(private readonly deps: BillDeps) {}

  /** The signed download URL, or undefined when billDate is not a day. */
  downloadUrl(app: AlipayApp, billDate: string, baseUrl: string): string | undefined {
    if (!alipayDayBounds(billDate, this.deps.timeZone)) return undefined;
    const expires = this.deps.clock.now().getTime() + this.deps.ttlMs;
    const sig = Buffer.from(signRsa2(tokenContent(app.appId, billDate, expires), app.platformPrivateKey), 'base64').toString('base64url');
    const query = new URLSearchParams({ app_id: app.appId, bill_type: 'trade', bill_date: billDate, expires: String(expires), sig });
    return `${baseUrl}${billPath}?${query.toString()}`;
  }

  /** Checks a download URL's proof and expiry, then builds the CSV. */
  async download(query: { app_id: string; bill_date: string; expires: string; sig: string }): Promise<BillResult> {
    const app = await this.deps.apps.get(query.app_id);
    const bounds = alipayDayBounds(query.bill_date, this.deps.timeZone);
    if (!app || !bounds || !/^\d{1,15}$/.test(query.expires)) return { ok: false, reason: 'invalid' };
    const expires = Number(query.expires);
    const signature = Buffer.from(query.sig, 'base64url').toString('base64');
    if (!verifyRsa2(tokenContent(app.appId, query.bill_date, expires), signature, app.platformPublicKey)) return { ok: false, reason: 'invalid' };
    if (this.deps.clock.now().getTime() > expires) return { ok: false, reason: 'expired' };
    const csv = await this.csv(app, new Date(bounds.startMs), new Date(bounds.endMs));
    return { ok: true, filename: `${app.appId}_${query.bill_date.replace(/-/g, '')}_trade.csv`, csv };
  }

  private async csv(app: AlipayApp, from: Date, to: Date): Promise<string> {
    const zone = this.deps.timeZone;
    const lines = ['trade_no,out_trade_no,subject,trade_status,total_amount,receipt_amount,refund_amount,gmt_create,gmt_payment'];
    const links = await this.deps.links.tradesBetween(app.appId, from, to, billRowsMax);
    for (const link of links) {
      const trade = await this.deps.trades.getTrade(app.clientId, link.trade_id);
      if (!trade) continue;
      lines.push(
        [
          trade.id,
          trade.outTradeNo,
          link.subject,
          tradeStatusOf(trade.status),
          formatYuan(trade.amount),
          formatYuan(trade.paidAmount),
          formatYuan(trade.refundedAmount),
          formatAlipayTime(trade.createdAt, zone),
          trade.paidAt ? formatAlipayTime(trade.paidAt, zone) : '',
        ]
          .map(csvField)
          .join(','),
      );
    }
    return lines.join('\r\n') + '\r\n';
  }
}
