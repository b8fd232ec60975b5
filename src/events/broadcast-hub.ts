/** In-process fan-out of broadcast events to the subscribers of this process. */
import type { Logger } from '../platform/index.js';
import { matchesTopic, type BusEvent } from './event.js';

export type BroadcastHandler = (event: BusEvent) => void | Promise<void>;

export class BroadcastHub {
  private readonly handlers = new Set<{ patterns: readonly string[]; handler: BroadcastHandler }>();

  constructor(private readonly logger: Logger) {}

  /** Subscribes; returns the unsubscribe function. */
  on(patterns: readonly string[], handler: BroadcastHandler): () => void {
    const entry = { patterns, handler };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }

  dispatch(event: BusEvent): void {
    for (const { patterns, handler } of this.handlers) {
      if (!matchesTopic(patterns, event.type)) continue;
      // A subscriber's failure is its own; the others still hear the event.
      Promise.resolve()
        .then(() => handler(event))
        .catch((error: unknown) => this.logger.error({ err: error, eventId: event.id, type: event.type }, 'broadcast handler failed'));
    }
  }
}
