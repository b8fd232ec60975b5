/**
 * Payment tools as plugins (SYSTEM.md §4): each knows how much it can pay of what is left and
 * what it adds to the activity's plan. New tools (points, …) are one more entry in `toolPlugins`.
 */
import type { Refusal } from './activity.js';
import type { CardInfo, MemberInfo, MarketingPort, MemberPort, RiskTool, ToolInfo } from './ports.js';

export type MethodInput =
  | { readonly tool: 'balance' }
  | { readonly tool: 'card'; readonly card_id: string }
  | { readonly tool: 'coupon'; readonly coupon_id: string }
  | { readonly tool: 'red_packet'; readonly red_packet_id: string };

export type ToolName = MethodInput['tool'];

/** What one tool pays: `amount` of the trade; a marketing tool's `face` may be more (the rest goes back to the budget). */
export interface ResolvedPart {
  readonly tool: ToolName;
  readonly riskTool: RiskTool;
  readonly amount: bigint;
  readonly face?: bigint;
  readonly toolId?: string;
  readonly card?: CardInfo;
}

export interface ToolContext {
  readonly clientId: string;
  readonly payer: MemberInfo;
  readonly currency: string;
  readonly remaining: bigint;
  /** True when a card follows in the same payment: the balance then pays only what it holds. */
  readonly cardFollows: boolean;
  readonly members: MemberPort;
  readonly marketing: MarketingPort;
  readonly availableBalance: () => Promise<bigint>;
  readonly now: Date;
}

export interface ToolPlugin {
  readonly tool: ToolName;
  /** Lower runs first: marketing tools, then balance, then the card for whatever is left. */
  readonly order: number;
  resolve(method: MethodInput, ctx: ToolContext): Promise<ResolvedPart | Refusal>;
}

async function marketingTool(kind: 'coupon' | 'red_packet', id: string, ctx: ToolContext): Promise<ResolvedPart | Refusal> {
  const tool: ToolInfo | undefined = await ctx.marketing.get(ctx.clientId, id);
  if (!tool || tool.memberId !== ctx.payer.id || tool.kind !== kind) return { reason: 'tool_not_found', detail: { tool_id: id } };
  if (tool.status !== 'available' || tool.currency !== ctx.currency) return { reason: 'tool_not_available', detail: { tool_id: id } };
  if (tool.expiresAt && tool.expiresAt <= ctx.now) return { reason: 'tool_expired', detail: { tool_id: id } };
  const amount = tool.amount < ctx.remaining ? tool.amount : ctx.remaining;
  return { tool: kind, riskTool: kind, amount, face: tool.amount, toolId: tool.id };
}

export const toolPlugins: Record<ToolName, ToolPlugin> = {
  red_packet: {
    tool: 'red_packet',
    order: 0,
    resolve: (method, ctx) => marketingTool('red_packet', (method as { red_packet_id: string }).red_packet_id, ctx),
  },
  coupon: {
    tool: 'coupon',
    order: 1,
    resolve: (method, ctx) => marketingTool('coupon', (method as { coupon_id: string }).coupon_id, ctx),
  },
  balance: {
    tool: 'balance',
    order: 2,
    async resolve(_method, ctx) {
      if (!ctx.cardFollows) return { tool: 'balance', riskTool: 'balance', amount: ctx.remaining };
      const available = await ctx.availableBalance();
      const amount = available < ctx.remaining ? (available > 0n ? available : 0n) : ctx.remaining;
      return { tool: 'balance', riskTool: 'balance', amount };
    },
  },
  card: {
    tool: 'card',
    order: 3,
    async resolve(method, ctx) {
      const card = await ctx.members.getActiveCard(ctx.payer.id, (method as { card_id: string }).card_id);
      if (!card) return { reason: 'card_not_active', detail: { card_id: (method as { card_id: string }).card_id } };
      return { tool: 'card', riskTool: 'card', amount: ctx.remaining, card };
    },
  },
};

/** A method list is well formed: no tool twice (a coupon or red packet once each), at most one card. */
export function methodsWellFormed(methods: readonly MethodInput[]): boolean {
  const seen = new Set<string>();
  for (const m of methods) {
    const key = m.tool === 'coupon' ? `coupon:${m.coupon_id}` : m.tool === 'red_packet' ? `red_packet:${m.red_packet_id}` : m.tool;
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return methods.length > 0;
}

/**
 * The payment rule: turns a trade's amount and the buyer's chosen methods into parts, e.g.
 * 10.00 = red packet 2.00 + coupon 1.00 + card 7.00. Tools run in plugin order, each taking what
 * it can of what is left; a tool left with nothing to pay is dropped.
 */
export async function applyPaymentRule(amount: bigint, methods: readonly MethodInput[], base: Omit<ToolContext, 'remaining' | 'cardFollows'>): Promise<ResolvedPart[] | Refusal> {
  const sorted = [...methods].sort((a, b) => toolPlugins[a.tool].order - toolPlugins[b.tool].order);
  const cardFollows = sorted.some((m) => m.tool === 'card');
  const parts: ResolvedPart[] = [];
  let remaining = amount;
  for (const method of sorted) {
    if (remaining === 0n) break;
    const part = await toolPlugins[method.tool].resolve(method, { ...base, remaining, cardFollows });
    if ('reason' in part) return part;
    if (part.amount === 0n) continue;
    parts.push(part);
    remaining -= part.amount;
  }
  if (remaining > 0n) return { reason: 'insufficient_funds' };
  return parts;
}
