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
