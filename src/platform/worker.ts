/**
 * Background workers: each runs one bounded step at a time on an interval, never overlapping
 * itself, and stops cleanly. A step that throws is logged and tried again on the next tick.
 */
import type { Logger } from 'pino';

export interface Worker {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}

/** A worker that calls `step` every `intervalMs`; a step returning true ran full, so it goes again at once. */
export function intervalWorker(name: string, intervalMs: number, logger: Logger, step: () => Promise<boolean | void>): Worker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  const log = logger.child({ worker: name });

  const tick = (): void => {
    if (stopped) return;
    running = (async () => {
      let again = false;
      try {
        again = (await step()) === true;
      } catch (error) {
        log.error({ err: error }, 'worker step failed');
      }
      if (!stopped) timer = setTimeout(tick, again ? 0 : intervalMs);
    })();
  };

  return {
    name,
    start() {
      if (!stopped) return;
      stopped = false;
      timer = setTimeout(tick, intervalMs);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** What a polling step found: a full batch (go again at once), some work, or none. */
export type PollOutcome = 'more' | 'some' | 'none';

/** A polling worker that can be woken: `wake()` says new work may be waiting. */
export interface WakeableWorker extends Worker {
  wake(): void;
}

/**
 * A worker that polls every `intervalMs` while it finds work and backs off (doubling, up to
 * `idleMaxMs`) while it finds none; `wake()` ends an idle wait at once, so work announced in this
 * process is picked up without waiting and an idle poller costs little.
 */
export function backoffWorker(name: string, options: { intervalMs: number; idleMaxMs: number }, logger: Logger, step: () => Promise<PollOutcome>): WakeableWorker {
  const { intervalMs } = options;
  const idleMaxMs = Math.max(intervalMs, options.idleMaxMs);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  let idleMs = intervalMs;
  /** True while sleeping after a step that found nothing. */
  let idling = false;
  let woken = false;
  const log = logger.child({ worker: name });

  const schedule = (delayMs: number): void => {
    if (!stopped) timer = setTimeout(tick, delayMs);
  };
  const tick = (): void => {
    if (stopped) return;
    timer = undefined;
    idling = false;
    woken = false;
    running = (async () => {
      let outcome: PollOutcome = 'none';
      try {
        outcome = await step();
      } catch (error) {
        log.error({ err: error }, 'worker step failed');
      }
      running = undefined;
      if (outcome === 'more') return schedule(0);
      if (outcome === 'some') {
        idleMs = intervalMs;
        return schedule(intervalMs);
      }
      // Woken during a step that found nothing: what woke us may have landed after its query.
      if (woken) return schedule(0);
      idling = true;
      schedule(idleMs);
      idleMs = Math.min(idleMaxMs, idleMs * 2);
    })();
  };

  return {
    name,
    start() {
      if (!stopped) return;
      stopped = false;
      idleMs = intervalMs;
      schedule(intervalMs);
    },
    wake() {
      if (stopped) return;
      if (running) {
        woken = true;
        return;
      }
      if (!idling || !timer) return; // polling at its interval anyway
      clearTimeout(timer);
      idleMs = intervalMs;
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
