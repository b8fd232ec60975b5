/**
 * The channels on /metrics (this process's view, as Prometheus scrapes each process): bank calls
 * by outcome and their latency as they happen; the operator's switch, the circuit's state and the
 * window's success rate read at scrape time.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CallOutcome, CircuitState } from './circuit-breaker.js';
import type { ChannelRegistry } from './channel-registry.js';

const states: readonly CircuitState[] = ['closed', 'open', 'half_open'];

export function installChannelMetrics(metrics: Registry, channels: ChannelRegistry): void {
  const calls = new Counter({
    name: 'paycore_channel_calls_total',
    help: 'Bank calls by channel and outcome (ok: the bank answered; a card decline is ok).',
    labelNames: ['channel', 'outcome'],
    registers: [metrics],
  });
  const latency = new Histogram({
    name: 'paycore_channel_call_duration_seconds',
    help: 'Latency of bank calls that were answered, by channel.',
    labelNames: ['channel'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics],
  });
  channels.observe({
    recorded: (code: string, outcome: CallOutcome) => calls.inc({ channel: code, outcome }),
    answered: (code: string, ms: number) => latency.observe({ channel: code }, ms / 1000),
  });
  new Gauge({
    name: 'paycore_channel_enabled',
    help: "1 when the operator's switch lets traffic use the channel.",
    labelNames: ['channel', 'bank'],
    registers: [metrics],
    collect() {
      this.reset();
      for (const row of channels.list()) this.set({ channel: row.code, bank: row.bank }, row.enabled ? 1 : 0);
    },
  });
  new Gauge({
    name: 'paycore_channel_circuit_state',
    help: "1 for the circuit's current state (closed, open, half_open) in this process.",
    labelNames: ['channel', 'state'],
    registers: [metrics],
    collect() {
      this.reset();
      for (const row of channels.list()) {
        const current = channels.figures(row.id).state;
        for (const state of states) this.set({ channel: row.code, state }, state === current ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'paycore_channel_success_ratio',
    help: "Share of the circuit window's bank calls that were answered properly (absent with no calls).",
    labelNames: ['channel'],
    registers: [metrics],
    collect() {
      this.reset();
      for (const row of channels.list()) {
        const rate = channels.figures(row.id).successRate;
        if (rate !== null) this.set({ channel: row.code }, rate);
      }
    },
  });
}
