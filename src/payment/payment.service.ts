/**
 * The payment core (SYSTEM.md §4): turns what a trade wants into payment orders of the four basic
 * kinds (recharge, withdraw, refund, transfer), plans them with the payment tools, authorises them
 * with risk and the payment password, and executes them as TCC activities.
 */
import { strict as assert } from 'node:assert';
import type { Kysely } from 'kysely';
import type { Ledger } from '../ledger/index.js';
import { intervalWorker, isId, type Clock, type Logger, type PlatformContext, type Worker } from '../platform/index.js';
import { channelAccount, type ActivityView, type BusinessHandlers, type BusinessTrx, type PhaseInfo, type Plan, type PlanEntry, type PlanMethod, type Refusal } from './activity.js';
import { ActivityManager, type RunResult } from './activity-manager.js';
import { AccountDirectory } from './account-directory.js';
import { logOf } from './activity.repository.js';
import { applyPaymentRule, type MethodInput, type ResolvedPart } from './payment-tools.js';
import type { ActivityRow, PaymentDB, PaymentKind, PaymentOrderRow, StoredMethod } from './payment.table.js';
import type { ChannelOrderView, ChannelPort, MarketingPort, MemberInfo, MemberPort, RiskPort, RiskTool } from './ports.js';

export interface PaymentDeps {
  readonly db: Kysely<PaymentDB>;
  readonly ledger: Ledger;
  readonly members: MemberPort;
  readonly marketing: MarketingPort;
  readonly risk: RiskPort;
  readonly channel: ChannelPort;
  readonly shares: { readonly ledger: boolean; readonly marketing: boolean };
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: PaymentOptions;
}

export interface PaymentOptions {
  /** An activity still trying after this long is cancelled by recovery. */
  readonly tryTimeoutMs: number;
  /** A card payment with no bank answer after this long is given up (a late success is refunded). */
  readonly cardWaitMs: number;
  readonly recoveryIntervalMs: number;
}

/** The tools whose use is recorded toward daily limits (balance and marketing tools are bounded otherwise). */
const limitedRiskTools: readonly RiskTool[] = ['card', 'recharge', 'withdrawal', 'transfer'];

export const defaultPaymentOptions: PaymentOptions = { tryTimeoutMs: 30_000, cardWaitMs: 600_000, recoveryIntervalMs: 1_000 };

/** A payee of a transfer: a ledger account and its share. */
export type Payee = PlanEntry;

/** Splits `amount` over the payees in order: the first `amount` of them, and the rest. */
export function allocate(payees: readonly PlanEntry[], amount: bigint): [PlanEntry[], PlanEntry[]] {
  const first: PlanEntry[] = [];
  const rest: PlanEntry[] = [];
  let left = amount;
  for (const payee of payees) {
    const take = payee.amount < left ? payee.amount : left;
    if (take > 0n) first.push({ account: payee.account, amount: take });
    if (payee.amount - take > 0n) rest.push({ account: payee.account, amount: payee.amount - take });
    left -= take;
  }
  return [first, rest];
}

export type PlanResult = { ok: true; plan: Plan; parts: ResolvedPart[] } | { ok: false; refusal: Refusal };

export class PaymentService {
  readonly manager: ActivityManager;
  readonly accounts: AccountDirectory;
  private channel: ChannelPort;

  constructor(private readonly deps: PaymentDeps) {
    this.channel = deps.channel;
    this.accounts = new AccountDirectory(deps.ledger);
    this.manager = new ActivityManager({
      db: deps.db,
      ledger: deps.ledger,
      marketing: deps.marketing,
      channel: () => this.channel,
      channelAccountOf: (bank, currency) => this.accounts.channel(bank, currency),
      shares: deps.shares,
      clock: deps.clock,
      logger: deps.logger,
      tryTimeoutMs: deps.options.tryTimeoutMs,
    });
    this.listen(deps.channel);
  }

  /** Puts another channel in place (tests and sandboxes drive bank results by hand). */
  useChannel(channel: ChannelPort): void {
    this.channel = channel;
    this.listen(channel);
  }

  private listen(channel: ChannelPort): void {
    channel.onResult((order) => {
      // Orders that serve no payment activity (card binding, other subsystems) are not ours.
      if (this.channel !== channel || !order.instructionId || !isId(order.instructionId)) return;
      void this.manager.onChannelResult(order, order.instructionId).catch((error: unknown) => this.deps.logger.error({ err: error, order: order.id }, 'channel result not applied; recovery retries'));
    });
  }

  /**
   * Registers a business; its handlers run inside the transactions that move its activities. The
   * payment order is written and moved alongside.
   */
  register(business: string, handlers: BusinessHandlers): void {
    const now = () => this.deps.clock.now();
    // A cancel is final (cancelling only ends cancelled), so its risk usage goes at once, off the transaction.
    const releaseRisk = (id: string) => void this.releaseRisk(id).catch((error: unknown) => this.deps.logger.warn({ err: error, activity: id }, 'risk usage not released'));
    const insertOrder = async (trx: BusinessTrx, activity: ActivityView, info: PhaseInfo) => {
      const { plan } = activity;
      await trx
          .insertInto('payment.payment_order')
          .values({
            id: activity.id,
            client_id: plan.clientId,
            trade_id: plan.order.tradeId,
            kind: plan.order.kind,
            business,
            amount: plan.order.amount,
            currency: plan.currency,
            methods: JSON.stringify(storedMethods(plan.order.methods)),
            status: info.onePhase ? 'success' : 'processing',
            tcc: info.onePhase ? 'one_phase' : 'two_phase',
            channel_order_id: null,
            finished_at: info.onePhase ? now() : null,
          })
          .execute();
    };
    this.manager.register(business, {
      async begin(trx, activity, info) {
        const refusal = await handlers.begin(trx, activity, info);
        if (refusal) return refusal;
        await insertOrder(trx, activity, info);
        return undefined;
      },
      ...(handlers.onePhase && {
        async onePhase(trx: BusinessTrx, activity: ActivityView) {
          const outcome = await handlers.onePhase!(trx, activity);
          if (outcome === undefined) await insertOrder(trx, activity, { onePhase: true });
          return outcome;
        },
      }),
      async confirmed(trx, activity, info) {
        if (!info.onePhase) {
          await trx.updateTable('payment.payment_order').set({ status: 'success', finished_at: now() }).where('id', '=', activity.id).where('status', '=', 'processing').execute();
        }
        await handlers.confirmed(trx, activity, info);
      },
      async cancelled(trx, activity, reason) {
        await trx.updateTable('payment.payment_order').set({ status: 'failed', finished_at: now() }).where('id', '=', activity.id).where('status', '=', 'processing').execute();
        await handlers.cancelled(trx, activity, reason);
        releaseRisk(activity.id);
      },
      async channelStarted(trx, activity, order) {
        const methods = activity.plan.order.methods.map((m) => (m.tool === 'card' ? { ...m, institution: order.bank } : m));
        await trx.updateTable('payment.payment_order').set({ channel_order_id: order.id, methods: JSON.stringify(storedMethods(methods)) }).where('id', '=', activity.id).execute();
        await handlers.channelStarted?.(trx, activity, order);
      },
      lateChannelSuccess: handlers.lateChannelSuccess && ((trx, activity, order) => handlers.lateChannelSuccess!(trx, activity, order)),
    });
  }

  /** Runs a planned payment order as an activity. */
  run(id: string, business: string, businessRef: string, plan: Plan): Promise<RunResult> {
    const view: ActivityView = { id, business, businessRef, plan };
    return this.manager.run(view);
  }

  /**
   * Risk before try: each part against its tool's limits and the blacklist; the payment password
   * when risk asks for it (any part above the threshold, or `totalTool` for the whole amount).
   */
  async authorize(input: {
    clientId: string;
    memberId: string;
    parts: ReadonlyArray<{ riskTool: RiskTool; amount: bigint }>;
    password: string | undefined;
  }): Promise<Refusal | undefined> {
    let passwordRequired = false;
    const at = this.deps.clock.now();
    for (const part of input.parts) {
      const verdict = await this.deps.risk.assess({ clientId: input.clientId, memberId: input.memberId, tool: part.riskTool, amount: part.amount, at });
      if (!verdict.ok) return { reason: verdict.reason };
      passwordRequired ||= verdict.passwordRequired;
    }
    if (!passwordRequired && input.password === undefined) return undefined;
    if (input.password === undefined) return { reason: 'password_required' };
    const checked = await this.deps.members.verifyPaymentPassword(input.memberId, input.password);
    if (checked === 'ok') return undefined;
    return { reason: checked === 'not_set' ? 'password_not_set' : checked === 'locked' ? 'password_locked' : 'password_wrong' };
  }

  /**
   * Counts a payment against the member's daily limits (idempotent by reference): from before its
   * try, so one in flight counts; `releaseRisk` takes it back when the payment does not happen.
   * True when anything was counted (a balance-only payment counts nothing: no round trip).
   */
  async recordRisk(memberId: string, parts: ReadonlyArray<{ riskTool: RiskTool; amount: bigint }>, reference: string): Promise<boolean> {
    const at = this.deps.clock.now();
    let counted = false;
    for (const part of parts) {
      if (!limitedRiskTools.includes(part.riskTool)) continue;
      await this.deps.risk.record({ memberId, tool: part.riskTool, amount: part.amount, at, reference: `${reference}:${part.riskTool}` });
      counted = true;
    }
    return counted;
  }

  /** Takes back what recordRisk counted under `reference` (a declined or abandoned payment). */
  releaseRisk(reference: string): Promise<void> {
    return this.deps.risk.release(limitedRiskTools.map((tool) => `${reference}:${tool}`));
  }

  /** The payment rule over the buyer's methods. */
  resolveMethods(input: { clientId: string; payer: MemberInfo; amount: bigint; currency: string; methods: readonly MethodInput[] }): Promise<ResolvedPart[] | Refusal> {
    return applyPaymentRule(input.amount, input.methods, {
      clientId: input.clientId,
      payer: input.payer,
      currency: input.currency,
      members: this.deps.members,
      marketing: this.deps.marketing,
      availableBalance: async () => (await this.deps.ledger.balance(input.payer.accountId))?.available ?? 0n,
      now: this.deps.clock.now(),
    });
  }

  /** A trade payment (transfer kind): the buyer's parts to the payees (seller, splits, or escrow). */
  async planTradePay(input: { clientId: string; tradeId: string; payer: MemberInfo; payees: readonly Payee[]; amount: bigint; currency: string; parts: readonly ResolvedPart[]; ctx: PlatformContext }): Promise<Plan> {
    const balance = input.parts.find((p) => p.tool === 'balance')?.amount ?? 0n;
    const card = input.parts.find((p) => p.tool === 'card');
    const tools = input.parts.filter((p) => p.toolId !== undefined);
    const [fromHold, rest] = allocate(input.payees, balance);
    const post: PlanEntry[] = [...rest];
    if (tools.length > 0) {
      const issued = await this.deps.marketing.issuedAccountId();
      const budget = await this.accounts.marketing(input.currency);
      for (const tool of tools) {
        post.push({ account: issued, amount: -(tool.face ?? tool.amount) });
        if ((tool.face ?? tool.amount) > tool.amount) post.push({ account: budget, amount: (tool.face ?? tool.amount) - tool.amount });
      }
    }
    if (card) post.push({ account: channelAccount, amount: -card.amount });
    return {
      currency: input.currency,
      clientId: input.clientId,
      memberId: input.payer.id,
      order: { kind: 'transfer', tradeId: input.tradeId, amount: input.amount, methods: input.parts.map(toPlanMethod) },
      hold: balance > 0n ? { accountId: input.payer.accountId, amount: balance } : null,
      tools: tools.map((t) => ({ toolId: t.toolId!, amount: t.face ?? t.amount })),
      channel: card ? { service: 'pay', agreementId: card.card!.agreement, originalOrderId: null, amount: card.amount, dueAt: null, abandonAfterMs: this.deps.options.cardWaitMs } : null,
      fromHold,
      post,
      memo: `trade ${input.tradeId}`,
      ctx: input.ctx,
    };
  }

  /**
   * A refund (refund kind) of `amount` after `refundedBefore` was already refunded: taken from
   * `sources` (their parts sum to `amount`: the seller and split receivers, or escrow; all or
   * nothing) and returned the way it came — card first, then balance, then marketing tools (whose
   * money goes back to the budget) — slicing the original parts in that order.
   */
  async planRefund(input: {
    clientId: string;
    tradeId: string;
    sources: readonly PlanEntry[];
    buyer: MemberInfo;
    original: PaymentOrderRow;
    refundedBefore: bigint;
    amount: bigint;
    ctx: PlatformContext;
  }): Promise<Plan> {
    const sources = input.sources.filter((s) => s.amount > 0n);
    assert.equal(sources.reduce((sum, s) => sum + s.amount, 0n), input.amount, 'the refund sources give the refund');
    const order = ['card', 'balance', 'red_packet', 'coupon'];
    const methods = (input.original.methods as StoredMethod[]).map((m) => ({ tool: m.tool, amount: BigInt(m.amount) })).sort((a, b) => order.indexOf(a.tool) - order.indexOf(b.tool));
    let skip = input.refundedBefore;
    let left = input.amount;
    const fromHold: PlanEntry[] = [];
    const parts: PlanMethod[] = [];
    let cardPart = 0n;
    for (const method of methods) {
      const skipped = skip < method.amount ? skip : method.amount;
      skip -= skipped;
      const available = method.amount - skipped;
      const take = available < left ? available : left;
      if (take === 0n) continue;
      left -= take;
      parts.push({ tool: method.tool, amount: take });
      if (method.tool === 'card') {
        cardPart += take;
        fromHold.push({ account: channelAccount, amount: take });
      } else if (method.tool === 'balance') fromHold.push({ account: input.buyer.accountId, amount: take });
      else fromHold.push({ account: await this.accounts.marketing(input.original.currency), amount: take });
    }
    return {
      currency: input.original.currency,
      clientId: input.clientId,
      memberId: null,
      order: { kind: 'refund', tradeId: input.tradeId, amount: input.amount, methods: parts },
      hold: { accountId: sources[0]!.account, amount: sources[0]!.amount },
      ...(sources.length > 1 ? { extraHolds: sources.slice(1).map((s) => ({ accountId: s.account, amount: s.amount })) } : {}),
      tools: [],
      channel:
        cardPart > 0n && input.original.channel_order_id
          ? { service: 'refund', agreementId: null, originalOrderId: input.original.channel_order_id, amount: cardPart, dueAt: null, abandonAfterMs: null }
          : null,
      fromHold,
      post: [],
      memo: `refund of trade ${input.tradeId}`,
      ctx: input.ctx,
    };
  }

  /** A member-to-member transfer, or any plain move of a member's money: hold, then post. */
  planTransfer(input: { clientId: string; tradeId: string; from: string; to: readonly Payee[]; amount: bigint; currency: string; ctx: PlatformContext; memo: string }): Plan {
    return {
      currency: input.currency,
      clientId: input.clientId,
      memberId: null,
      order: { kind: 'transfer', tradeId: input.tradeId, amount: input.amount, methods: [{ tool: 'balance', amount: input.amount }] },
      hold: { accountId: input.from, amount: input.amount },
      tools: [],
      channel: null,
      fromHold: [...input.to],
      post: [],
      memo: input.memo,
      ctx: input.ctx,
    };
  }

  /** A posting with no try (escrow release, bounce): a single voucher, idempotent by the activity. */
  planPost(input: { clientId: string; tradeId: string; kind: PaymentKind; entries: readonly PlanEntry[]; amount: bigint; currency: string; ctx: PlatformContext; memo: string }): Plan {
    return {
      currency: input.currency,
      clientId: input.clientId,
      memberId: null,
      order: { kind: input.kind, tradeId: input.tradeId, amount: input.amount, methods: [] },
      hold: null,
      tools: [],
      channel: null,
      fromHold: [],
      post: [...input.entries],
      memo: input.memo,
      ctx: input.ctx,
    };
  }

  /** A recharge: the bank debits the card, then the member is credited. */
  planRecharge(input: { clientId: string; tradeId: string; member: MemberInfo; agreementId: string; amount: bigint; currency: string; ctx: PlatformContext }): Plan {
    return {
      currency: input.currency,
      clientId: input.clientId,
      memberId: input.member.id,
      order: { kind: 'recharge', tradeId: input.tradeId, amount: input.amount, methods: [{ tool: 'card', amount: input.amount }] },
      hold: null,
      tools: [],
      channel: { service: 'pay', agreementId: input.agreementId, originalOrderId: null, amount: input.amount, dueAt: null, abandonAfterMs: this.deps.options.cardWaitMs },
      fromHold: [],
      post: [
        { account: channelAccount, amount: -input.amount },
        { account: input.member.accountId, amount: input.amount },
      ],
      memo: `recharge ${input.tradeId}`,
      ctx: input.ctx,
    };
  }

  /** A withdrawal: frozen at once, paid out (not before dueAt), then debited. */
  planWithdraw(input: { clientId: string; tradeId: string; member: MemberInfo; agreementId: string; amount: bigint; currency: string; dueAt: Date | null; ctx: PlatformContext }): Plan {
    return {
      currency: input.currency,
      clientId: input.clientId,
      memberId: input.member.id,
      order: { kind: 'withdraw', tradeId: input.tradeId, amount: input.amount, methods: [{ tool: 'card', amount: input.amount }] },
      hold: { accountId: input.member.accountId, amount: input.amount },
      tools: [],
      channel: { service: 'payout', agreementId: input.agreementId, originalOrderId: null, amount: input.amount, dueAt: input.dueAt, abandonAfterMs: null },
      fromHold: [{ account: channelAccount, amount: input.amount }],
      post: [],
      memo: `withdrawal ${input.tradeId}`,
      ctx: input.ctx,
    };
  }

  /** Money back to a card through the bank that took it (exception refund, recharge refund). */
  planCardRefund(input: { clientId: string; tradeId: string; originalOrderId: string; amount: bigint; currency: string; hold: { accountId: string } | null; ctx: PlatformContext; memo: string }): Plan {
    return {
      currency: input.currency,
      clientId: input.clientId,
      memberId: null,
      order: { kind: 'refund', tradeId: input.tradeId, amount: input.amount, methods: [{ tool: 'card', amount: input.amount }] },
      hold: input.hold && { accountId: input.hold.accountId, amount: input.amount },
      tools: [],
      channel: { service: 'refund', agreementId: null, originalOrderId: input.originalOrderId, amount: input.amount, dueAt: null, abandonAfterMs: null },
      fromHold: input.hold ? [{ account: channelAccount, amount: input.amount }] : [],
      post: [],
      memo: input.memo,
      ctx: input.ctx,
    };
  }

  getOrder(id: string): Promise<PaymentOrderRow | undefined> {
    return this.deps.db.selectFrom('payment.payment_order').selectAll().where('id', '=', id).executeTakeFirst();
  }

  ordersOfTrade(tradeId: string): Promise<PaymentOrderRow[]> {
    return this.deps.db.selectFrom('payment.payment_order').selectAll().where('trade_id', '=', tradeId).orderBy('created_at').execute();
  }

  /** A TCC activity (id = its payment order's id) with its phase log, for the console. */
  async activityOf(id: string): Promise<{ activity: ActivityRow; log: Array<{ phase: string; detail: string | null; at: Date }> } | undefined> {
    if (!isId(id)) return undefined;
    const activity = await this.deps.db.selectFrom('payment.activity').selectAll().where('id', '=', id).executeTakeFirst();
    return activity && { activity, log: await logOf(this.deps.db, id) };
  }

  /** The channel order of a payment, as the gateway knows it now. */
  channelOrder(id: string): Promise<ChannelOrderView | undefined> {
    return this.channel.getOrder(id);
  }

  /** One recovery pass (the worker runs it; tests call it with a clock of their own). */
  recover(now: Date = this.deps.clock.now()): Promise<number> {
    return this.manager.recover(now);
  }

  workers(): Worker[] {
    return [intervalWorker('payment-recovery', this.deps.options.recoveryIntervalMs, this.deps.logger, async () => (await this.recover()) >= 100)];
  }
}

function toPlanMethod(part: ResolvedPart): PlanMethod {
  return { tool: part.tool, amount: part.amount, ...(part.toolId ? { reference: part.toolId } : part.card ? { reference: part.card.id } : {}) };
}

function storedMethods(methods: ReadonlyArray<PlanMethod & { institution?: string }>): StoredMethod[] {
  return methods.map((m) => ({ tool: m.tool, amount: m.amount.toString(), ...(m.reference ? { reference: m.reference } : {}), ...(m.institution ? { institution: m.institution } : {}) }));
}
