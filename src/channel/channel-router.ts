/**
 * Routing: first the rules (the service, the card's BIN and bank, the amount limits, the
 * operator's switch, the circuit), then the order among what is left: live success rate in 5%
 * bands first, cost within a band. So a cheaper channel wins until it is clearly worse.
 */
import type { ChannelRow, ChannelService } from './channel.table.js';

export interface RouteRequest {
  readonly service: ChannelService;
  readonly cardBin: string;
  readonly amount: bigint | undefined;
  readonly currency: string;
  /** The bank the card is bound at; undefined when any bank serving the card will do. */
  readonly bank: string | undefined;
  readonly exclude: readonly string[];
}

export interface RouteView {
  readonly channel: ChannelRow;
  readonly allows: boolean;
  readonly successRate: number | null;
}

/** What a request of `amount` costs on a channel, in minor units (rounded up). */
export function channelCost(channel: ChannelRow, amount: bigint): bigint {
  return (amount * BigInt(channel.cost_rate_bp) + 9_999n) / 10_000n + channel.cost_fixed;
}

/** The channels that may serve a request, best first. Open circuits and switched-off channels are out. */
export function route(channels: readonly RouteView[], request: RouteRequest): ChannelRow[] {
  const amount = request.amount ?? 1n;
  return channels
    .filter(({ channel, allows }) =>
      allows &&
      channel.enabled &&
      channel.services.includes(request.service) &&
      channel.card_bins.some((bin) => request.cardBin.startsWith(bin)) &&
      (request.bank === undefined || channel.bank === request.bank) &&
      channel.currency === request.currency &&
      amount >= channel.min_amount &&
      amount <= channel.max_amount &&
      !request.exclude.includes(channel.id),
    )
    .map((view) => ({ view, band: view.successRate === null ? 20 : Math.floor(view.successRate * 20), cost: channelCost(view.channel, amount) }))
    .sort((a, b) => b.band - a.band || (a.cost < b.cost ? -1 : a.cost > b.cost ? 1 : 0) || a.view.channel.code.localeCompare(b.view.channel.code))
    .map(({ view }) => view.channel);
}
