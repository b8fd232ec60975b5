/**
 * One circuit per channel, in this process's memory. Closed: every bank call's outcome goes into
 * a sliding window; the circuit opens when the window's success rate falls below the threshold
 * (with enough calls to judge) or when the bank stops answering (timeouts in a row). Open: no
 * traffic for openMs. Half-open: the gateway probes the bank with harmless queries; enough
 * answers in a row close it, one failure opens it again. Payments never serve as probes.
 */
import type { ChannelTuning } from '../platform/index.js';

export type CircuitState = 'closed' | 'open' | 'half_open';
/** ok: the bank answered properly (a card decline is the card's fault, not the bank's). */
export type CallOutcome = 'ok' | 'error' | 'timeout' | 'unreachable';

interface Sample {
  readonly at: number;
  readonly ok: boolean;
}

interface Latency {
  readonly at: number;
  readonly ms: number;
}

/** Bounds the window's memory whatever the traffic. */
const samplesMax = 5_000;

export interface CircuitFigures {
  readonly state: CircuitState;
  readonly successRate: number | null;
  readonly calls: number;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly openedAt: string | null;
  readonly timeoutsInRow: number;
}

export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private samples: Sample[] = [];
  private latencies: Latency[] = [];
  private timeoutsInRow = 0;
  private openedAt = 0;
  private probesOk = 0;

  constructor(
    private readonly tuning: ChannelTuning,
    private readonly now: () => number,
    private readonly onChange: (from: CircuitState, to: CircuitState, why: string) => void,
  ) {}

  /** Whether real traffic may use the channel now. */
  allows(): boolean {
    this.tick();
    return this.state === 'closed';
  }

  current(): CircuitState {
    this.tick();
    return this.state;
  }

  /** Open → half-open once the open period is over. */
  private tick(): void {
    if (this.state === 'open' && this.now() - this.openedAt >= this.tuning.breakerOpenMs) this.move('half_open', 'open period over');
  }

  private move(to: CircuitState, why: string): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (to === 'open') this.openedAt = this.now();
    if (to === 'half_open') this.probesOk = 0;
    if (to === 'closed') {
      this.samples = [];
      this.timeoutsInRow = 0;
    }
    this.onChange(from, to, why);
  }

  private prune(): void {
    const since = this.now() - this.tuning.breakerWindowMs;
    const keep = <T extends { at: number }>(list: T[]): T[] => {
      let drop = 0;
      while (drop < list.length && list[drop]!.at < since) drop += 1;
      return drop > 0 || list.length > samplesMax ? list.slice(Math.max(drop, list.length - samplesMax)) : list;
    };
    this.samples = keep(this.samples);
    this.latencies = keep(this.latencies);
  }

  /** The bank answered a call (any answer): it is alive, and this is how fast it was. */
  answered(latencyMs: number): void {
    this.timeoutsInRow = 0;
    this.latencies.push({ at: this.now(), ms: latencyMs });
    if (this.latencies.length > samplesMax) this.prune();
  }

  /**
   * A result: ok (the bank did its job, a card decline included), error (the bank's own failure),
   * or no answer. Results that arrive while the circuit is not closed no longer count.
   */
  record(outcome: CallOutcome): void {
    this.tick();
    if (this.state !== 'closed') return;
    this.samples.push({ at: this.now(), ok: outcome === 'ok' });
    this.timeoutsInRow = outcome === 'timeout' || outcome === 'unreachable' ? this.timeoutsInRow + 1 : 0;
    this.prune();
    if (this.timeoutsInRow >= this.tuning.breakerTimeoutsToOpen) return this.move('open', `${this.timeoutsInRow} calls in a row unanswered`);
    if (this.samples.length >= this.tuning.breakerMinCalls) {
      const rate = this.rate();
      if (rate !== null && rate * 100 < this.tuning.breakerThresholdPercent) this.move('open', `success rate ${(rate * 100).toFixed(1)}% over the window`);
    }
  }

  /** A half-open probe's outcome. */
  recordProbe(ok: boolean): void {
    this.tick();
    if (this.state !== 'half_open') return;
    if (!ok) return this.move('open', 'probe failed');
    this.probesOk += 1;
    if (this.probesOk >= this.tuning.breakerProbesToClose) this.move('closed', `${this.probesOk} probes answered`);
  }

  /** Wants a probe now (half-open). */
  wantsProbe(): boolean {
    return this.current() === 'half_open';
  }

  /** The window's success rate (null when empty), without the latency figures' sorting. */
  successRate(): number | null {
    this.prune();
    return this.rate();
  }

  private rate(): number | null {
    if (this.samples.length === 0) return null;
    return this.samples.filter((s) => s.ok).length / this.samples.length;
  }

  figures(): CircuitFigures {
    this.tick();
    this.prune();
    const latencies = this.latencies.map((l) => l.ms).sort((a, b) => a - b);
    const pick = (q: number) => (latencies.length === 0 ? null : Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10);
    return {
      state: this.state,
      successRate: this.rate(),
      calls: this.samples.length,
      latencyP50Ms: pick(0.5),
      latencyP99Ms: pick(0.99),
      openedAt: this.state === 'closed' ? null : new Date(this.openedAt).toISOString(),
      timeoutsInRow: this.timeoutsInRow,
    };
  }
}
