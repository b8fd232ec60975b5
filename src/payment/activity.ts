/**
 * A TCC business activity (SYSTEM.md §8): its plan names every participant — a ledger hold,
 * marketing tools, one channel operation — and the vouchers its confirm posts. The plan is
 * stored with the activity, so recovery after a crash needs nothing but the row.
 */
import { strict as assert } from 'node:assert';
import type { Transaction } from 'kysely';
import type { PlatformContext } from '../platform/index.js';
import type { PaymentDB, PaymentKind } from './payment.table.js';
import type { ChannelOrderView } from './ports.js';

/** A ledger account id, or `@channel`: the receivable account of the bank the channel operation went to. */
export type PlanAccount = string;
export const channelAccount = '@channel';

export interface PlanEntry {
  readonly account: PlanAccount;
  readonly amount: bigint;
}

export interface PlanMethod {
  readonly tool: string;
  readonly amount: bigint;
  readonly reference?: string;
}

export interface Plan {
  readonly currency: string;
  readonly clientId: string;
  /** The member whose tools are reserved. */
  readonly memberId: string | null;
  /** The payment order this activity executes. */
  readonly order: { readonly kind: PaymentKind; readonly tradeId: string; readonly amount: bigint; readonly methods: readonly PlanMethod[] };
  /** Try: freeze this much of the account; confirm takes it with postFromHold. */
  readonly hold: { readonly accountId: string; readonly amount: bigint } | null;
  /**
   * Try: freeze these too, all or nothing (a refund taken back from the seller and split
   * receivers). One-phase: one voucher with the hold's; two-phase: each hold posts its slice of
   * fromHold (holdSlices). Absent in plans stored before it existed.
   */
  readonly extraHolds?: ReadonlyArray<{ readonly accountId: string; readonly amount: bigint }>;
  /** Try: reserve each tool (coupon, red packet); confirm consumes it. */
  readonly tools: ReadonlyArray<{ readonly toolId: string; readonly amount: bigint }>;
  /** Runs between try and confirm; its success decides confirm, its failure cancel. */
  readonly channel: {
    readonly service: 'pay' | 'payout' | 'refund';
    readonly agreementId: string | null;
    readonly originalOrderId: string | null;
    readonly amount: bigint;
    /** Not before (T+1 withdrawals wait for the settlement time). */
    readonly dueAt: Date | null;
    /** A pay may be given up after this long (a late success is refunded); payouts never are. */
    readonly abandonAfterMs: number | null;
  } | null;
  /** Confirm: where the held money goes (sums to hold.amount plus the extra holds). */
  readonly fromHold: readonly PlanEntry[];
  /** Confirm: one more voucher (sums to zero), e.g. coupons and the bank's side. */
  readonly post: readonly PlanEntry[];
  readonly memo: string;
  readonly ctx: PlatformContext;
}

export interface ActivityView {
  readonly id: string;
  readonly business: string;
  /** The business object (trade, refund, withdrawal…) the activity serves. */
  readonly businessRef: string;
  readonly plan: Plan;
}

/** A refusal: the activity did not (or will not) happen; the reason is a stable lower-case code. */
export interface Refusal {
  readonly reason: string;
  readonly detail?: Record<string, unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type BusinessTrx = Transaction<PaymentDB & Record<string, any>>;

export interface PhaseInfo {
  readonly onePhase: boolean;
  readonly channelOrder?: ChannelOrderView;
}

/**
 * The business side of an activity (the trade core registers one per kind). Every handler runs
 * inside the payment database's transaction that moves the activity, so the business state and
 * the activity state change together (the trade schema shares that database; see runtime).
 */
export interface BusinessHandlers {
  /** Before any try, in the transaction that records the activity; a refusal writes nothing. */
  begin(trx: BusinessTrx, activity: ActivityView, info: PhaseInfo): Promise<Refusal | undefined>;
  /**
   * Optional fast path of a one-phase activity: begin and confirmed as one statement, run after
   * the participants in the same local transaction. 'unsupported' falls back to begin + confirmed.
   */
  onePhase?(trx: BusinessTrx, activity: ActivityView): Promise<Refusal | undefined | 'unsupported'>;
  /** The activity confirmed: every participant has committed. */
  confirmed(trx: BusinessTrx, activity: ActivityView, info: PhaseInfo): Promise<void>;
  /** The activity cancelled: every participant released; `reason` says why. */
  cancelled(trx: BusinessTrx, activity: ActivityView, reason: string): Promise<void>;
  /** The channel operation was started (the activity now waits for the bank). */
  channelStarted?(trx: BusinessTrx, activity: ActivityView, order: ChannelOrderView): Promise<void>;
  /** The bank took the money after the activity had been cancelled: it must go back. */
  lateChannelSuccess?(trx: BusinessTrx, activity: ActivityView, order: ChannelOrderView): Promise<void>;
}

type StoredPlan = Omit<Plan, 'order' | 'hold' | 'extraHolds' | 'tools' | 'channel' | 'fromHold' | 'post'> & {
  order: { kind: PaymentKind; tradeId: string; amount: string; methods: Array<{ tool: string; amount: string; reference?: string }> };
  hold: { accountId: string; amount: string } | null;
  extraHolds?: Array<{ accountId: string; amount: string }>;
  tools: Array<{ toolId: string; amount: string }>;
  channel: (Omit<NonNullable<Plan['channel']>, 'amount' | 'dueAt'> & { amount: string; dueAt: string | null }) | null;
  fromHold: Array<{ account: string; amount: string }>;
  post: Array<{ account: string; amount: string }>;
};

const entriesOut = (entries: readonly PlanEntry[]) => entries.map((e) => ({ account: e.account, amount: e.amount.toString() }));
const entriesIn = (entries: Array<{ account: string; amount: string }>) => entries.map((e) => ({ account: e.account, amount: BigInt(e.amount) }));

/** The plan as jsonb text: bigints as decimal strings. */
export function planToJson(plan: Plan): string {
  const { extraHolds, ...rest } = plan;
  const stored: StoredPlan = {
    ...rest,
    order: { ...plan.order, amount: plan.order.amount.toString(), methods: plan.order.methods.map((m) => ({ ...m, amount: m.amount.toString() })) },
    hold: plan.hold && { accountId: plan.hold.accountId, amount: plan.hold.amount.toString() },
    ...(extraHolds?.length ? { extraHolds: extraHolds.map((h) => ({ accountId: h.accountId, amount: h.amount.toString() })) } : {}),
    tools: plan.tools.map((t) => ({ toolId: t.toolId, amount: t.amount.toString() })),
    channel: plan.channel && { ...plan.channel, amount: plan.channel.amount.toString(), dueAt: plan.channel.dueAt?.toISOString() ?? null },
    fromHold: entriesOut(plan.fromHold),
    post: entriesOut(plan.post),
  };
  return JSON.stringify(stored);
}

export function planFromJson(value: unknown): Plan {
  const { extraHolds, ...stored } = value as StoredPlan;
  return {
    ...stored,
    order: { ...stored.order, amount: BigInt(stored.order.amount), methods: stored.order.methods.map((m) => ({ ...m, amount: BigInt(m.amount) })) },
    hold: stored.hold && { accountId: stored.hold.accountId, amount: BigInt(stored.hold.amount) },
    ...(extraHolds?.length ? { extraHolds: extraHolds.map((h) => ({ accountId: h.accountId, amount: BigInt(h.amount) })) } : {}),
    tools: stored.tools.map((t) => ({ toolId: t.toolId, amount: BigInt(t.amount) })),
    channel: stored.channel && { ...stored.channel, amount: BigInt(stored.channel.amount), dueAt: stored.channel.dueAt ? new Date(stored.channel.dueAt) : null },
    fromHold: entriesIn(stored.fromHold),
    post: entriesIn(stored.post),
  };
}

/** Net amounts per account, zero lines dropped: one voucher line per account. */
export function netEntries(entries: readonly PlanEntry[]): PlanEntry[] {
  const net = new Map<string, bigint>();
  for (const e of entries) net.set(e.account, (net.get(e.account) ?? 0n) + e.amount);
  return [...net].filter(([, amount]) => amount !== 0n).map(([account, amount]) => ({ account, amount }));
}

/** One ledger hold of a plan: its key's reference, the account, the amount, and the slice of fromHold it pays. */
export interface HoldSlice {
  readonly reference: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly to: PlanEntry[];
}

/**
 * Every hold of a plan (the main one under the activity id, extra ones under `<id>:extra:<n>`)
 * with the part of fromHold each pays: fromHold in order, the main hold's amount first.
 */
export function holdSlices(activityId: string, plan: Plan): HoldSlice[] {
  if (!plan.hold) return [];
  // One hold (every plan but a refund from several receivers): all of fromHold, as it always was.
  if (!plan.extraHolds?.length) return [{ reference: activityId, accountId: plan.hold.accountId, amount: plan.hold.amount, to: [...plan.fromHold] }];
  const holds = [{ reference: activityId, ...plan.hold }, ...(plan.extraHolds ?? []).map((h, n) => ({ reference: `${activityId}:extra:${n}`, ...h }))];
  const queue = plan.fromHold.map((e) => ({ account: e.account, amount: e.amount }));
  const slices = holds.map((hold) => {
    const to: PlanEntry[] = [];
    let left = hold.amount;
    while (left > 0n) {
      const head = queue[0];
      assert(head, 'fromHold covers every hold');
      const take = head.amount < left ? head.amount : left;
      to.push({ account: head.account, amount: take });
      head.amount -= take;
      left -= take;
      if (head.amount === 0n) queue.shift();
    }
    return { reference: hold.reference, accountId: hold.accountId, amount: hold.amount, to };
  });
  assert(queue.every((e) => e.amount === 0n), 'fromHold sums to the holds');
  return slices;
}
