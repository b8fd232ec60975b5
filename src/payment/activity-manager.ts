/**
 * The business activity manager (SYSTEM.md §8, the seeds' 柔性事务): records an activity and its
 * participants, runs try on each, then confirms all or cancels all; the activity row drives
 * recovery after a crash. Participants: the ledger (freeze → postFromHold | release) and
 * marketing (reserve → confirm | cancel), both fenced on their side against empty cancel,
 * hanging try and repeats; plus at most one channel operation between try and confirm.
 *
 * One-phase: when the ledger (and marketing, if the plan reserves tools) live in the payment
 * database, try and confirm run inside one local transaction — the freeze and its posting
 * collapse into one voucher under the same floor check, as XA commits a single resource in one
 * phase. Full TCC runs when they live in databases of their own.
 */
import { strict as assert } from 'node:assert';
import type { Kysely, Transaction } from 'kysely';
import type { Ledger, PostResult } from '../ledger/index.js';
import type { Clock, Logger } from '../platform/index.js';
import { channelAccount, holdSlices, netEntries, planFromJson, planToJson, type ActivityView, type BusinessHandlers, type Plan, type PlanEntry, type Refusal } from './activity.js';
import * as activities from './activity.repository.js';
import type { ActivityRow, ActivityStatus, PaymentDB } from './payment.table.js';
import type { ChannelOrderView, ChannelPort, MarketingPort } from './ports.js';

export type RunResult =
  | { readonly status: 'confirmed'; readonly onePhase: boolean }
  | { readonly status: 'awaiting_channel' }
  | { readonly status: 'refused'; readonly refusal: Refusal };

export interface ManagerDeps {
  readonly db: Kysely<PaymentDB>;
  readonly ledger: Ledger;
  readonly marketing: MarketingPort;
  readonly channel: () => ChannelPort;
  /** The ledger account of a bank's receivable (channel:<bank>:<currency>). */
  readonly channelAccountOf: (bank: string, currency: string) => Promise<string>;
  /** Whether ledger / marketing share the payment database (one-phase possible). */
  readonly shares: { readonly ledger: boolean; readonly marketing: boolean };
  readonly clock: Clock;
  readonly logger: Logger;
  readonly tryTimeoutMs: number;
}

/** Test seams: a hook that throws simulates a crash at that point of the protocol. */
export interface ManagerHooks {
  beforeTry?: (activityId: string) => void | Promise<void>;
  afterTry?: (activityId: string) => void | Promise<void>;
  afterConfirming?: (activityId: string) => void | Promise<void>;
}

const holdSource = 'payment';

class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(`refused: ${refusal.reason}`);
  }
}

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === '40001' || code === '40P01' || code === '23505';
}

export class ActivityManager {
  private readonly businesses = new Map<string, BusinessHandlers>();
  readonly hooks: ManagerHooks = {};

  constructor(private readonly deps: ManagerDeps) {}

  register(business: string, handlers: BusinessHandlers): void {
    assert(!this.businesses.has(business), `business ${business} registered twice`);
    this.businesses.set(business, handlers);
  }

  private handlers(business: string): BusinessHandlers {
    const handlers = this.businesses.get(business);
    assert(handlers, `no handlers for business ${business}`);
    return handlers;
  }

  /** True when this plan can run in one local transaction. */
  canRunOnePhase(plan: Plan): boolean {
    return plan.channel === null && this.deps.shares.ledger && (plan.tools.length === 0 || this.deps.shares.marketing);
  }

  /** Runs an activity to its end, or to the point where it waits for a bank. */
  async run(activity: ActivityView): Promise<RunResult> {
    if (this.canRunOnePhase(activity.plan)) return this.runOnePhase(activity);
    return this.runTwoPhase(activity);
  }

  private async runOnePhase(activity: ActivityView): Promise<RunResult> {
    const handlers = this.handlers(activity.business);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.deps.db.transaction().execute(async (trx) => {
          if (!handlers.onePhase) {
            const refusal = await handlers.begin(trx, activity, { onePhase: true });
            if (refusal) throw new Refused(refusal);
          }
          await this.commitParticipants(trx, activity);
          const fast = handlers.onePhase ? await handlers.onePhase(trx, activity) : 'unsupported';
          if (fast === 'unsupported') {
            if (handlers.onePhase) {
              const refusal = await handlers.begin(trx, activity, { onePhase: true });
              if (refusal) throw new Refused(refusal);
            }
            await handlers.confirmed(trx, activity, { onePhase: true });
          } else if (fast) throw new Refused(fast);
        });
        return { status: 'confirmed', onePhase: true };
      } catch (error) {
        if (error instanceof Refused) return { status: 'refused', refusal: error.refusal };
        if (!isRetryable(error) || attempt >= 3) throw error;
      }
    }
  }

  /** Try and confirm of every participant inside the local transaction (one-phase). */
  private async commitParticipants(trx: Transaction<PaymentDB>, activity: ActivityView): Promise<void> {
    const { plan } = activity;
    const marketing = this.deps.marketing.inTransaction(trx);
    for (const tool of plan.tools) {
      const reserved = await marketing.tryReserve({ activity: activity.id, toolId: tool.toolId, memberId: plan.memberId ?? '', clientId: plan.clientId });
      if (!reserved.ok) throw new Refused({ reason: `tool_${reserved.reason}`, detail: { tool_id: tool.toolId } });
      await marketing.confirm(activity.id, tool.toolId);
    }
    const entries = onePhaseEntries(plan);
    if (entries.length === 0) return;
    const posted = await this.deps.ledger.inTransaction(trx).post({
      source: holdSource,
      reference: activity.id,
      currency: plan.currency,
      entries: entries.map((e) => ({ accountId: e.account, amount: e.amount })),
      memo: plan.memo,
    });
    if (!posted.ok) throw new Refused({ reason: posted.error, detail: posted.accountId ? { account_id: posted.accountId } : undefined });
  }

  private async runTwoPhase(activity: ActivityView): Promise<RunResult> {
    const handlers = this.handlers(activity.business);
    const { plan } = activity;
    const hasTry = plan.hold !== null || plan.tools.length > 0;
    const first: ActivityStatus = hasTry ? 'trying' : plan.channel ? 'awaiting_channel' : 'confirming';
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        const refusal = await handlers.begin(trx, activity, { onePhase: false });
        if (refusal) throw new Refused(refusal);
        await activities.insert(trx, activity, planToJson(plan), first, this.deps.clock.now());
      });
    } catch (error) {
      if (error instanceof Refused) return { status: 'refused', refusal: error.refusal };
      throw error;
    }
    if (hasTry) {
      await this.hooks.beforeTry?.(activity.id);
      const refusal = await this.tryAll(activity);
      if (refusal) {
        await this.cancel(activity.id, refusal.reason);
        return { status: 'refused', refusal };
      }
      await this.hooks.afterTry?.(activity.id);
      const next: ActivityStatus = plan.channel ? 'awaiting_channel' : 'confirming';
      if (!(await activities.move(this.deps.db, activity.id, ['trying'], next, this.deps.clock.now()))) {
        // Recovery cancelled it meanwhile (it looked abandoned): the cancel wins.
        return { status: 'refused', refusal: { reason: 'cancelled' } };
      }
    }
    if (plan.channel) return this.startChannel(activity.id);
    await this.hooks.afterConfirming?.(activity.id);
    await this.confirm(activity.id);
    return { status: 'confirmed', onePhase: false };
  }

  /** Try on every participant; the first refusal stops (cancel releases whatever was taken). */
  private async tryAll(activity: ActivityView): Promise<Refusal | undefined> {
    const { plan } = activity;
    // Every hold or none: a refusal cancels the activity, which releases those already frozen.
    for (const hold of holdSlices(activity.id, plan)) {
      const frozen = await this.deps.ledger.freeze({ source: holdSource, reference: hold.reference, accountId: hold.accountId, currency: plan.currency, amount: hold.amount });
      if (!frozen.ok) return { reason: frozen.error, ...(frozen.error === 'insufficient_funds' ? { detail: { account_id: hold.accountId } } : {}) };
    }
    for (const tool of plan.tools) {
      const reserved = await this.deps.marketing.tryReserve({ activity: activity.id, toolId: tool.toolId, memberId: plan.memberId ?? '', clientId: plan.clientId });
      if (!reserved.ok) return { reason: `tool_${reserved.reason}`, detail: { tool_id: tool.toolId } };
    }
    return undefined;
  }

  private async load(id: string): Promise<{ row: ActivityRow; view: ActivityView } | undefined> {
    const row = await activities.find(this.deps.db, id);
    if (!row) return undefined;
    return { row, view: { id: row.id, business: row.business, businessRef: row.business_ref, plan: planFromJson(row.plan) } };
  }

  /** Starts (or finds again) the channel operation of an awaiting activity, when it is due. */
  async startChannel(id: string, now: Date = this.deps.clock.now()): Promise<RunResult> {
    const loaded = await this.load(id);
    assert(loaded, `activity ${id} vanished`);
    const { row, view } = loaded;
    const channel = view.plan.channel;
    assert(channel);
    if (row.status !== 'awaiting_channel') return row.status === 'confirmed' ? { status: 'confirmed', onePhase: false } : { status: 'awaiting_channel' };
    if (row.channel_order_id) return { status: 'awaiting_channel' };
    if (channel.dueAt && channel.dueAt > now) return { status: 'awaiting_channel' };
    const port = this.deps.channel();
    const common = { instructionId: id, amount: channel.amount, currency: view.plan.currency, ctx: view.plan.ctx };
    const started =
      channel.service === 'refund'
        ? await port.refund({ ...common, originalOrderId: channel.originalOrderId! })
        : await port[channel.service]({ ...common, agreementId: channel.agreementId! });
    if (!started.ok) {
      const reason = `channel_${started.reason.toLowerCase()}`;
      await this.cancel(id, reason);
      return { status: 'refused', refusal: { reason } };
    }
    const handlers = this.handlers(view.business);
    await this.deps.db.transaction().execute(async (trx) => {
      if (await activities.setChannelOrder(trx, id, started.order, this.deps.clock.now())) await handlers.channelStarted?.(trx, view, started.order);
    });
    // The result may have arrived before the order was recorded here (and been ignored): ask again.
    const current = (await port.getOrder(started.order.id)) ?? started.order;
    if (current.status === 'success' || current.status === 'failed') return this.onChannelResult(current, id);
    return { status: 'awaiting_channel' };
  }

  /** A channel order ended: confirm or cancel its activity, or send back a late success. */
  async onChannelResult(order: ChannelOrderView, activityId: string): Promise<RunResult> {
    const loaded = await this.load(activityId);
    if (!loaded || loaded.row.channel_order_id !== order.id) return { status: 'awaiting_channel' };
    const { row, view } = loaded;
    if (order.status !== 'success' && order.status !== 'failed') return { status: 'awaiting_channel' };
    if (row.status === 'awaiting_channel') {
      if (order.status === 'failed') {
        await this.cancel(activityId, 'channel_failed', 'failed');
        return { status: 'refused', refusal: { reason: 'channel_failed' } };
      }
      if (await activities.move(this.deps.db, activityId, ['awaiting_channel'], 'confirming', this.deps.clock.now(), { channelState: 'success' })) {
        await this.confirm(activityId);
        return { status: 'confirmed', onePhase: false };
      }
      return this.onChannelResult(order, activityId);
    }
    if (row.status === 'cancelled' && row.channel_state === 'pending') {
      const handlers = this.handlers(view.business);
      await this.deps.db.transaction().execute(async (trx) => {
        if (!(await activities.settleChannel(trx, activityId, order.status === 'success' ? 'success' : 'failed', this.deps.clock.now()))) return;
        if (order.status === 'success') {
          assert(handlers.lateChannelSuccess, `${view.business} has no late-success handler`);
          await handlers.lateChannelSuccess(trx, view, order);
        }
      });
      return { status: 'refused', refusal: { reason: row.cancel_reason ?? 'cancelled' } };
    }
    if (row.status === 'confirmed') return { status: 'confirmed', onePhase: false };
    return { status: 'awaiting_channel' };
  }

  private async resolve(entries: readonly PlanEntry[], currency: string, bank: string | null): Promise<Array<{ accountId: string; amount: bigint }>> {
    const out: Array<{ accountId: string; amount: bigint }> = [];
    for (const entry of netEntries(entries)) {
      if (entry.account === channelAccount) {
        assert(bank, 'a channel entry needs the bank of the channel order');
        out.push({ accountId: await this.deps.channelAccountOf(bank, currency), amount: entry.amount });
      } else out.push({ accountId: entry.account, amount: entry.amount });
    }
    return out;
  }

  /** Confirm: idempotent, run again by recovery until it ends; never refused once decided. */
  async confirm(id: string): Promise<void> {
    const loaded = await this.load(id);
    assert(loaded, `activity ${id} vanished`);
    const { row, view } = loaded;
    if (row.status === 'confirmed') return;
    assert.equal(row.status, 'confirming', `confirm of an activity in ${row.status}`);
    const { plan } = view;
    if (plan.hold) {
      // One voucher: the hold's money and the plan's other lines (coupons, a card) move together.
      // Extra holds (a refund from several receivers) each post their own slice: postFromHold takes one hold.
      for (const [n, hold] of holdSlices(id, plan).entries()) {
        const to = await this.resolve(n === 0 ? [...hold.to, ...plan.post] : hold.to, plan.currency, row.channel_bank);
        expectPosted(
          await this.deps.ledger.postFromHold({ hold: { source: holdSource, reference: hold.reference }, source: holdSource, reference: `${hold.reference}:hold`, currency: plan.currency, to, memo: plan.memo }),
          id,
        );
      }
    } else if (plan.post.length > 0) {
      const entries = await this.resolve(plan.post, plan.currency, row.channel_bank);
      expectPosted(await this.deps.ledger.post({ source: holdSource, reference: `${id}:post`, currency: plan.currency, entries, memo: plan.memo }), id);
    }
    for (const tool of plan.tools) await this.deps.marketing.confirm(id, tool.toolId);
    const handlers = this.handlers(view.business);
    const order = row.channel_order_id ? await this.deps.channel().getOrder(row.channel_order_id) : undefined;
    await this.deps.db.transaction().execute(async (trx) => {
      if (await activities.move(trx, id, ['confirming'], 'confirmed', this.deps.clock.now())) await handlers.confirmed(trx, view, { onePhase: false, channelOrder: order });
    });
  }

  /**
   * Cancel: release every participant (an empty cancel leaves the participants' tombstones, so a
   * late try is refused), then tell the business. `channelState` marks a channel order still open.
   */
  async cancel(id: string, reason: string, channelState?: 'failed'): Promise<boolean> {
    const loaded = await this.load(id);
    if (!loaded) return false;
    const { row, view } = loaded;
    if (row.status === 'cancelled') return true;
    if (row.status === 'confirming' || row.status === 'confirmed') return false;
    const pending = row.channel_order_id !== null && channelState === undefined ? 'pending' : channelState;
    if (row.status !== 'cancelling' && !(await activities.move(this.deps.db, id, [row.status], 'cancelling', this.deps.clock.now(), { reason, channelState: pending }))) {
      return this.cancel(id, reason, channelState);
    }
    const { plan } = view;
    for (const hold of holdSlices(id, plan)) {
      const released = await this.deps.ledger.release({ source: holdSource, reference: hold.reference });
      assert(released.ok, `hold ${hold.reference} of activity ${id} was posted but the activity is cancelling`);
    }
    for (const tool of plan.tools) await this.deps.marketing.cancel(id, tool.toolId);
    const handlers = this.handlers(view.business);
    const stored = (await activities.find(this.deps.db, id))?.cancel_reason ?? reason;
    await this.deps.db.transaction().execute(async (trx) => {
      if (await activities.move(trx, id, ['cancelling'], 'cancelled', this.deps.clock.now())) await handlers.cancelled(trx, view, stored);
    });
    return true;
  }

  /**
   * One recovery pass over activities not touched since `staleBefore`: trying too long → cancel;
   * confirming → confirm again; cancelling → cancel again; awaiting a bank → start it when due,
   * ask the bank, give up a pay that waited too long; and late bank results of cancelled ones.
   */
  async recover(now: Date, limit = 100): Promise<number> {
    const staleBefore = new Date(now.getTime() - this.deps.tryTimeoutMs);
    const rows = await activities.open(this.deps.db, staleBefore, now, limit);
    for (const row of rows) {
      try {
        await this.recoverOne(row, now);
      } catch (error) {
        this.deps.logger.error({ err: error, activity: row.id }, 'activity recovery failed; retried on the next pass');
      }
    }
    return rows.length;
  }

  private async recoverOne(row: ActivityRow, now: Date): Promise<void> {
    await activities.bumpAttempts(this.deps.db, row.id);
    switch (row.status) {
      case 'trying':
        await this.cancel(row.id, 'try_timed_out');
        return;
      case 'confirming':
        await this.confirm(row.id);
        return;
      case 'cancelling':
        await this.cancel(row.id, row.cancel_reason ?? 'recovered');
        return;
      case 'awaiting_channel':
        await this.recoverAwaiting(row, now);
        return;
      case 'cancelled':
        if (row.channel_state === 'pending' && row.channel_order_id) {
          const order = await this.deps.channel().getOrder(row.channel_order_id);
          if (order) await this.onChannelResult(order, row.id);
        }
        return;
      default:
        return;
    }
  }

  private async recoverAwaiting(row: ActivityRow, now: Date): Promise<void> {
    if (!row.channel_order_id) {
      await this.startChannel(row.id, now);
      return;
    }
    const order = await this.deps.channel().getOrder(row.channel_order_id);
    if (order && (order.status === 'success' || order.status === 'failed')) {
      await this.onChannelResult(order, row.id);
      return;
    }
    const plan = planFromJson(row.plan);
    const abandonAfterMs = plan.channel?.abandonAfterMs ?? null;
    if (abandonAfterMs !== null && now.getTime() - row.updated_at.getTime() > abandonAfterMs) await this.cancel(row.id, 'channel_timed_out');
  }
}

function expectPosted(result: PostResult, id: string): void {
  // The hold (or the plan's own accounts) cover every confirm voucher; a refusal here is a bug.
  assert(result.ok, `confirm voucher of activity ${id} refused: ${result.ok ? '' : result.error}`);
}

/** The one voucher of a one-phase activity: the hold's side, where it goes, and the plain voucher. */
function onePhaseEntries(plan: Plan): PlanEntry[] {
  const entries: PlanEntry[] = [];
  if (plan.hold) entries.push({ account: plan.hold.accountId, amount: -plan.hold.amount }, ...plan.fromHold);
  // Extra holds' accounts give their part in the same voucher: all of it or nothing.
  for (const hold of plan.extraHolds ?? []) entries.push({ account: hold.accountId, amount: -hold.amount });
  entries.push(...plan.post);
  assert(!entries.some((e) => e.account === channelAccount), 'a one-phase plan has no channel');
  const net = netEntries(entries);
  assert.equal(net.reduce((sum, e) => sum + e.amount, 0n), 0n, 'the one-phase voucher balances');
  return net;
}
