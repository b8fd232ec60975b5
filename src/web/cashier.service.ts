/**
 * What the cashier page shows: the trade, its merchant and the payment methods open to the buyer.
 * The sources (balance, cards, coupons and red packets) are asked in parallel, each within
 * `sourceTimeoutMs`: a slow or failing source is left out and named in `sources`, never fatal.
 */
import type { Ledger } from '../ledger/index.js';
import type { MarketingService, PaymentTool } from '../marketing/index.js';
import type { Card, MemberService } from '../member/index.js';
import type { TradeRow, TradeService } from '../trade/index.js';
import { withinMs } from './cashier-link.js';

export type SourceState = 'ok' | 'timeout' | 'error';

export interface CashierView {
  readonly trade: TradeRow;
  readonly merchantName: string | undefined;
  readonly balance: { readonly accountId: string; readonly available: bigint } | undefined;
  readonly cards: readonly Card[];
  readonly tools: readonly PaymentTool[];
  readonly passwordSet: boolean;
  readonly sources: Readonly<Record<'balance' | 'cards' | 'tools', SourceState>>;
}

export interface CashierDeps {
  readonly trades: TradeService;
  readonly members: MemberService;
  readonly marketing: MarketingService;
  readonly ledger: Ledger;
  readonly sourceTimeoutMs: number;
}

export class CashierService {
  constructor(private readonly deps: CashierDeps) {}

  trade(clientId: string, tradeId: string): Promise<TradeRow | undefined> {
    return this.deps.trades.get(clientId, tradeId);
  }

  /** The trade and the methods; undefined when the trade is not the client's. */
  async view(clientId: string, tradeId: string): Promise<CashierView | undefined> {
    const trade = await this.deps.trades.get(clientId, tradeId);
    if (!trade) return undefined;
    const buyer = trade.payer_id;
    const { members, marketing, ledger, sourceTimeoutMs: ms } = this.deps;
    const [merchant, passwordSet, balance, cards, tools] = await Promise.all([
      trade.payee_id ? withinMs(ms, () => members.get(clientId, trade.payee_id!)) : Promise.resolve(undefined),
      buyer ? withinMs(ms, () => members.hasPaymentPassword(buyer)) : Promise.resolve(undefined),
      buyer ? withinMs(ms, () => this.balanceOf(clientId, buyer)) : Promise.resolve(undefined),
      buyer ? withinMs(ms, () => members.activeCards(clientId, buyer)) : Promise.resolve(undefined),
      buyer ? withinMs(ms, () => marketing.availableFor(clientId, buyer)) : Promise.resolve(undefined),
    ]);
    const state = (r: { ok: boolean; reason?: 'timeout' | 'error' } | undefined): SourceState => (r === undefined || r.ok ? 'ok' : r.reason!);
    return {
      trade,
      merchantName: merchant?.ok ? merchant.value?.name : undefined,
      // Unknown (timed out) counts as set: the page then asks for the password, which is safe.
      passwordSet: passwordSet?.ok ? passwordSet.value : true,
      balance: balance?.ok ? balance.value : undefined,
      cards: cards?.ok ? cards.value : [],
      tools: tools?.ok ? tools.value.filter((tool) => tool.currency === trade.currency) : [],
      sources: { balance: state(balance), cards: state(cards), tools: state(tools) },
    };
  }

  private async balanceOf(clientId: string, memberId: string): Promise<CashierView['balance']> {
    const accounts = await this.deps.members.accounts(clientId, memberId);
    const account = accounts?.find((a) => a.currency === 'CNY');
    if (!account) return undefined;
    const balance = await this.deps.ledger.balance(account.id);
    return balance ? { accountId: account.id, available: balance.available } : undefined;
  }
}
