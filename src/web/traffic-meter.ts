/**
 * Payments per second per channel for the console's dashboard: the channel gateway tells this
 * process of every order it finishes (`onResult`); each is counted in a one-second bucket.
 * A ring of `windowSeconds` buckets per channel, so memory is bounded. Figures are this process's
 * own: with several API processes each dashboard shows the traffic of the process it asks.
 */
import type { ChannelOrder } from '../channel/index.js';

interface Ring {
  readonly ok: number[];
  readonly failed: number[];
  second: number;
}

export class TrafficMeter {
  private readonly rings = new Map<string, Ring>();

  constructor(
    private readonly now: () => number,
    readonly windowSeconds = 60,
  ) {}

  record(order: Pick<ChannelOrder, 'channelId' | 'service' | 'status'>): void {
    if (order.service !== 'pay') return;
    const ring = this.ring(order.channelId);
    const slot = ring.second % this.windowSeconds;
    if (order.status === 'success') ring.ok[slot]! += 1;
    else if (order.status === 'failed') ring.failed[slot]! += 1;
  }

  /** Oldest first: `windowSeconds` values ending at the current (incomplete) second. */
  series(channelId: string): { ok: number[]; failed: number[] } {
    const ring = this.ring(channelId);
    const ok: number[] = [];
    const failed: number[] = [];
    for (let i = this.windowSeconds - 1; i >= 0; i--) {
      const slot = (ring.second - i + this.windowSeconds * 2) % this.windowSeconds;
      ok.push(ring.ok[slot]!);
      failed.push(ring.failed[slot]!);
    }
    return { ok, failed };
  }

  /** The channel's ring, with the seconds passed since its last use zeroed. */
  private ring(channelId: string): Ring {
    const second = Math.floor(this.now() / 1000);
    let ring = this.rings.get(channelId);
    if (!ring) {
      ring = { ok: new Array<number>(this.windowSeconds).fill(0), failed: new Array<number>(this.windowSeconds).fill(0), second };
      this.rings.set(channelId, ring);
    }
    const gap = Math.min(second - ring.second, this.windowSeconds);
    for (let i = 1; i <= gap; i++) {
      const slot = (ring.second + i) % this.windowSeconds;
      ring.ok[slot] = 0;
      ring.failed[slot] = 0;
    }
    if (second > ring.second) ring.second = second;
    return ring;
  }
}
