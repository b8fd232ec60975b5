/**
 * Funds in and out (API.md): recharge (card → channel → member), withdrawal (frozen at once,
 * paid out through a channel — T+1 at the next settlement time — then debited; a bounce returns
 * it) and member-to-member transfer. Each is unique by (client, out_biz_no).
 */
import { strict as assert } from 'node:assert';
import type { Kysely, Transaction } from 'kysely';
import { AppError, newId, type Clock, type Logger, type PlatformContext } from '../platform/index.js';
import type { ActivityView, BusinessHandlers, MemberInfo, MemberPort, PaymentService, Plan, StoredMethod } from '../payment/index.js';
import type { ExceptionRefunds } from './exception-refund.service.js';
import type { MemberCache } from './member-cache.js';
import { refusalError } from './trade.errors.js';
import * as trades from './trade.repository.js';
import { beginProcessing, tradeTrx } from './trade-trx.js';
import { requestHash } from './trade.js';
import type { NewOrder } from './trade.repository.js';
import type { TradeDB, TradeKind, TradeRow } from './trade.table.js';

export interface FundsDeps {
  readonly db: Kysely<TradeDB>;
  readonly payment: PaymentService;
  readonly members: MemberCache;
  readonly cards: Pick<MemberPort, 'getActiveCard'>;
  readonly exceptions: ExceptionRefunds;
  readonly clock: Clock;
  readonly logger: Logger;
  /** HH:MM (UTC) at which T+1 withdrawals are paid out on the next day. */
  readonly settlementTimeUtc: string;
}

/** The next settlement: the settlement time of the day after `now` (UTC). */
export function nextSettlement(now: Date, settlementTimeUtc: string): Date {
  const [hours, minutes] = settlementTimeUtc.split(':').map(Number) as [number, number];
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, hours, minutes));
}

type FundsKind = 'recharge' | 'withdrawal' | 'transfer';

export class FundsService {
  constructor(private readonly deps: FundsDeps) {
    deps.payment.register('funds.recharge', this.simpleHandlers('recharge', (trx, activity, order) => deps.exceptions.latePayment(trx, activity, order)));
    deps.payment.register('funds.withdrawal', this.simpleHandlers('withdrawal'));
    deps.payment.register('funds.transfer', this.simpleHandlers('transfer'));
    deps.payment.register('funds.withdrawal_bounce', {
      begin: (trx, activity) => this.bounceBegin(tradeTrx(trx), activity),
      confirmed: (trx, activity) => this.bounceConfirmed(tradeTrx(trx), activity),
      cancelled: async () => assert.fail('a bounce has no try to cancel'),
    });
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  /** processing → success | failed, with the kind's events; the order must be this activity's. */
  private simpleHandlers(kind: FundsKind, late?: (trx: Transaction<TradeDB>, activity: ActivityView, order: Parameters<NonNullable<BusinessHandlers['lateChannelSuccess']>>[2]) => Promise<void>): BusinessHandlers {
    return {
      begin: beginProcessing,
      confirmed: async (trx, activity) => {
        const now = this.now();
        const row = await trades.find(tradeTrx(trx), activity.businessRef);
        assert(row);
        const moved = await trades.move(tradeTrx(trx), row, ['processing'], 'success', { paid_amount: row.amount, paid_at: now, finished_at: now }, now);
        if (moved) await trades.emitChange(tradeTrx(trx), moved, 'succeeded');
      },
      cancelled: async (trx, activity) => {
        await this.failOrder(tradeTrx(trx), activity.businessRef);
      },
      ...(late ? { lateChannelSuccess: (trx, activity, order) => late(tradeTrx(trx), activity, order) } : {}),
    };
  }

  private async failOrder(trx: Transaction<TradeDB>, id: string): Promise<void> {
    const now = this.now();
    const row = await trades.find(trx, id);
    if (!row) return;
    const moved = await trades.move(trx, row, ['processing'], 'failed', { finished_at: now }, now);
    if (moved) await trades.emitChange(trx, moved, 'failed');
  }

  get(clientId: string, id: string, kind: FundsKind): Promise<TradeRow | undefined> {
    return trades.findForClient(this.deps.db, clientId, id, [kind]);
  }

  private async member(clientId: string, memberId: string): Promise<MemberInfo> {
    const member = await this.deps.members.get(clientId, memberId);
    if (!member) throw new AppError('NOT_FOUND', { member_id: memberId });
    return member;
  }

  private async card(memberId: string, cardId: string) {
    const card = await this.deps.cards.getActiveCard(memberId, cardId);
    if (!card) throw new AppError('CARD_NOT_ACTIVE', { card_id: cardId });
    return card;
  }

  /** Records the order, or returns the first one for the same out_biz_no (409 when the request differs). */
  private async open(ctx: PlatformContext, clientId: string, kind: FundsKind, outBizNo: string, hash: string, fields: Partial<NewOrder> & { amount: bigint }): Promise<{ row: TradeRow; created: boolean }> {
    const now = this.now();
    const id = newId();
    const context: PlatformContext = { ...ctx, client: clientId, tradeType: kind };
    const result = await this.deps.db.transaction().execute(async (trx) => {
      const found = await trades.insertOrFind(trx, trades.newOrder({
        id,
        client_id: clientId,
        kind,
        out_no_space: 'biz',
        out_no: outBizNo,
        request_hash: hash,
        status: 'processing',
        currency: 'CNY',
        root_id: id,
        payment_order_id: newId(),
        context: JSON.stringify(context),
        created_at: now,
        updated_at: now,
        ...fields,
      }));
      if (found.created) await trades.emitChange(trx, found.row, 'created');
      return found;
    });
    if (!result.created && result.row.request_hash !== hash) throw new AppError('OUT_BIZ_NO_CONFLICT', { out_biz_no: outBizNo, id: result.row.id });
    return result;
  }

  /** Runs the order's payment; a refusal fails the order and answers with its error. */
  private async execute(row: TradeRow, business: string, plan: Plan): Promise<TradeRow> {
    const result = await this.deps.payment.run(row.payment_order_id!, business, row.id, plan);
    if (result.status === 'refused') {
      await this.deps.db.transaction().execute((trx) => this.failOrder(trx, row.id));
      throw refusalError(result.refusal);
    }
    return (await trades.find(this.deps.db, row.id))!;
  }

  async recharge(ctx: PlatformContext, clientId: string, input: { outBizNo: string; memberId: string; cardId: string; amount: bigint }): Promise<{ row: TradeRow; created: boolean }> {
    const member = await this.member(clientId, input.memberId);
    const hash = requestHash({ kind: 'recharge', member: input.memberId, card: input.cardId, amount: input.amount });
    const replay = await trades.findByOutNo(this.deps.db, clientId, 'biz', input.outBizNo);
    if (replay) return this.replay(replay, hash, input.outBizNo);
    const card = await this.card(member.id, input.cardId);
    const denied = await this.deps.payment.authorize({ clientId, memberId: member.id, parts: [{ riskTool: 'recharge', amount: input.amount }], password: undefined });
    if (denied) throw refusalError(denied);
    const opened = await this.open(ctx, clientId, 'recharge', input.outBizNo, hash, { amount: input.amount, payee_id: member.id, card_id: card.id });
    if (!opened.created) return opened;
    const plan = this.deps.payment.planRecharge({ clientId, tradeId: opened.row.id, member, agreementId: card.agreement, amount: input.amount, currency: 'CNY', ctx: opened.row.context as unknown as PlatformContext });
    // Counted from before the try under the payment's id: a declined recharge gives it back (payment core, on cancel).
    const paymentId = opened.row.payment_order_id!;
    await this.deps.payment.recordRisk(member.id, [{ riskTool: 'recharge', amount: input.amount }], paymentId).catch(() => undefined);
    const row = await this.execute(opened.row, 'funds.recharge', plan).catch(async (error: unknown) => {
      // A refusal (an AppError) means the recharge failed; anything else may still go through.
      if (error instanceof AppError) await this.deps.payment.releaseRisk(paymentId).catch(() => undefined);
      throw error;
    });
    return { row, created: true };
  }

  async withdraw(ctx: PlatformContext, clientId: string, input: { outBizNo: string; memberId: string; cardId: string; amount: bigint; speed: 't0' | 't1' }): Promise<{ row: TradeRow; created: boolean }> {
    const member = await this.member(clientId, input.memberId);
    const hash = requestHash({ kind: 'withdrawal', member: input.memberId, card: input.cardId, amount: input.amount, speed: input.speed });
    const replay = await trades.findByOutNo(this.deps.db, clientId, 'biz', input.outBizNo);
    if (replay) return this.replay(replay, hash, input.outBizNo);
    const card = await this.card(member.id, input.cardId);
    const denied = await this.deps.payment.authorize({ clientId, memberId: member.id, parts: [{ riskTool: 'withdrawal', amount: input.amount }], password: undefined });
    if (denied) throw refusalError(denied);
    const settleAt = input.speed === 't1' ? nextSettlement(this.now(), this.deps.settlementTimeUtc) : null;
    const opened = await this.open(ctx, clientId, 'withdrawal', input.outBizNo, hash, { amount: input.amount, payer_id: member.id, card_id: card.id, speed: input.speed, settle_at: settleAt });
    if (!opened.created) return opened;
    const plan = this.deps.payment.planWithdraw({ clientId, tradeId: opened.row.id, member, agreementId: card.agreement, amount: input.amount, currency: 'CNY', dueAt: settleAt, ctx: opened.row.context as unknown as PlatformContext });
    return { row: await this.execute(opened.row, 'funds.withdrawal', plan), created: true };
  }

  async transfer(ctx: PlatformContext, clientId: string, input: { outBizNo: string; fromId: string; toId: string; amount: bigint; memo?: string; password?: string }): Promise<{ row: TradeRow; created: boolean }> {
    if (input.fromId === input.toId) throw new AppError('INVALID_REQUEST', { to_member_id: 'must differ from from_member_id' });
    const from = await this.member(clientId, input.fromId);
    const to = await this.member(clientId, input.toId);
    const hash = requestHash({ kind: 'transfer', from: input.fromId, to: input.toId, amount: input.amount, memo: input.memo ?? null });
    const replay = await trades.findByOutNo(this.deps.db, clientId, 'biz', input.outBizNo);
    if (replay) return this.replay(replay, hash, input.outBizNo);
    const denied = await this.deps.payment.authorize({ clientId, memberId: from.id, parts: [{ riskTool: 'transfer', amount: input.amount }], password: input.password });
    if (denied) throw refusalError(denied);
    const opened = await this.open(ctx, clientId, 'transfer', input.outBizNo, hash, { amount: input.amount, payer_id: from.id, payee_id: to.id, memo: input.memo ?? null });
    if (!opened.created) return opened;
    const plan = this.deps.payment.planTransfer({ clientId, tradeId: opened.row.id, from: from.accountId, to: [{ account: to.accountId, amount: input.amount }], amount: input.amount, currency: 'CNY', ctx: opened.row.context as unknown as PlatformContext, memo: input.memo ?? `transfer ${opened.row.id}` });
    const row = await this.execute(opened.row, 'funds.transfer', plan);
    await this.deps.payment.recordRisk(from.id, [{ riskTool: 'transfer', amount: input.amount }], row.id).catch(() => undefined);
    return { row, created: true };
  }

  private replay(row: TradeRow, hash: string, outBizNo: string): { row: TradeRow; created: boolean } {
    if (row.request_hash !== hash) throw new AppError('OUT_BIZ_NO_CONFLICT', { out_biz_no: outBizNo, id: row.id });
    return { row, created: false };
  }

  /** The bank returned a paid-out withdrawal: the money goes back to the member (operator action). */
  async bounce(ctx: PlatformContext, withdrawalId: string): Promise<TradeRow> {
    const row = await trades.find(this.deps.db, withdrawalId);
    if (!row || row.kind !== 'withdrawal') throw new AppError('NOT_FOUND');
    if (row.status !== 'success') throw new AppError('WITHDRAWAL_NOT_BOUNCEABLE', { status: row.status });
    const order = await this.deps.payment.getOrder(row.payment_order_id!);
    const bank = (order?.methods as StoredMethod[] | undefined)?.[0]?.institution;
    assert(bank, `withdrawal ${row.id} was paid out through a known bank`);
    const member = (await this.deps.members.getById(row.payer_id!))!;
    const channel = await this.deps.payment.accounts.channel(bank, row.currency);
    const plan = this.deps.payment.planPost({
      clientId: row.client_id,
      tradeId: row.id,
      kind: 'refund',
      entries: [
        { account: channel, amount: -row.amount },
        { account: member.accountId, amount: row.amount },
      ],
      amount: row.amount,
      currency: row.currency,
      ctx: { ...(row.context as unknown as PlatformContext), traceId: ctx.traceId, institution: bank },
      memo: `withdrawal bounce ${row.id}`,
    });
    const result = await this.deps.payment.run(newId(), 'funds.withdrawal_bounce', row.id, plan);
    if (result.status === 'refused') throw new AppError('WITHDRAWAL_NOT_BOUNCEABLE', { status: 'bounced' });
    return (await trades.find(this.deps.db, row.id))!;
  }

  private async bounceBegin(trx: Transaction<TradeDB>, activity: ActivityView) {
    const now = this.now();
    const row = await trades.lock(trx, activity.businessRef);
    assert(row);
    const moved = await trades.move(trx, row, ['success'], 'bounced', {}, now);
    if (!moved) return { reason: 'not_bounceable' };
    const id = newId();
    const { row: bounce } = await trades.insertOrFind(trx, trades.newOrder({
      id,
      client_id: row.client_id,
      kind: 'withdrawal_bounce' satisfies TradeKind,
      status: 'processing',
      amount: row.amount,
      currency: row.currency,
      payee_id: row.payer_id,
      notify_url: row.notify_url,
      card_id: row.card_id,
      parent_id: row.id,
      root_id: row.root_id,
      payment_order_id: activity.id,
      context: JSON.stringify(activity.plan.ctx),
      created_at: now,
      updated_at: now,
    }));
    await trades.emitChange(trx, moved, 'bounced');
    await trades.emitChange(trx, bounce, 'created');
    return undefined;
  }

  private async bounceConfirmed(trx: Transaction<TradeDB>, activity: ActivityView): Promise<void> {
    const now = this.now();
    const [bounce] = (await trades.children(trx, activity.businessRef, ['withdrawal_bounce'])).filter((b) => b.payment_order_id === activity.id);
    assert(bounce);
    const moved = await trades.move(trx, bounce, ['processing'], 'success', { finished_at: now, paid_amount: bounce.amount, paid_at: now }, now);
    if (moved) await trades.emitChange(trx, moved, 'succeeded');
  }
}
