/**
 * Group commit: concurrent post() calls queue here and a few flushers each take a bounded batch
 * and post it in ONE statement (one transaction, one round trip, one WAL flush). A voucher that
 * fails fails alone; the batch goes on. A batch that loses a race with another process (unique
 * violation, deadlock) runs again, bounded; a repeat then answers as a repeat.
 */
import { strict as assert } from 'node:assert';
import type { Clock, Logger } from '../platform/index.js';
import { postBatch, type BatchOutcome, type PreparedPosting } from './posting.repository.js';
import { isRetryable, type Executor } from './sql.executor.js';

export interface EngineOptions {
  /** Most vouchers in one batch. */
  readonly batchMax: number;
  /** Longest a request waits for others to join its batch; 0 = the end of the current tick. */
  readonly batchWaitMs: number;
  /** Batches in flight at once (each on its own connection). */
  readonly flushers: number;
  /** The smallest batch a burst is split into when flushers are idle (batchMax: never split). */
  readonly spreadMin: number;
  /** Runs of one batch after a retryable database error. */
  readonly retryMax: number;
}

interface Request {
  readonly posting: PreparedPosting;
  readonly key: string;
  wide: boolean;
  resolve(outcome: BatchOutcome): void;
  reject(error: unknown): void;
}

/** Today's accounting date (UTC) by the injected clock. */
export function accountingDate(clock: Clock): string {
  return clock.now().toISOString().slice(0, 10);
}

export class PostingEngine {
  private queue: Request[] = [];
  private busy = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private closed = false;
  private readonly idle = new Set<() => void>();
  private seed = Math.floor(Math.random() * 1_000_000);
  /** Counters since start: batches run (retries included), vouchers in them, retries. */
  readonly stats = { batches: 0, vouchers: 0, retries: 0 };

  constructor(
    private readonly exec: Executor,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: EngineOptions,
  ) {
    assert(options.batchMax >= 1 && options.flushers >= 1 && options.retryMax >= 0);
  }

  /** Queues one voucher; resolves once its batch committed (or it was refused). */
  submit(posting: PreparedPosting): Promise<BatchOutcome> {
    if (this.closed) return Promise.reject(new Error('ledger posting engine is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ posting, key: `${posting.source}\u0000${posting.reference}`, wide: false, resolve, reject });
      this.schedule();
    });
  }

  /** Stops taking requests and waits for the batches in flight and queued. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.busy > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve) => this.idle.add(resolve));
    }
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0 || this.busy >= this.options.flushers) return;
    if (this.queue.length >= this.options.batchMax) {
      this.flush();
      return;
    }
    const fire = (): void => {
      this.timer = undefined;
      this.flush();
    };
    this.timer = this.options.batchWaitMs > 0 ? setTimeout(fire, this.options.batchWaitMs) : setImmediate(fire);
  }

  /**
   * Takes a batch: at most batchMax, and never two requests with one key (the later waits a turn).
   * A short queue is spread over the idle flushers (down to spreadMin per batch), so a burst keeps
   * every core busy instead of one batch at a time.
   */
  private take(): Request[] {
    const idle = this.options.flushers - this.busy;
    const share = Math.ceil(this.queue.length / idle);
    const limit = Math.min(this.options.batchMax, Math.max(share, this.options.spreadMin));
    const batch: Request[] = [];
    const keys = new Set<string>();
    const rest: Request[] = [];
    for (const request of this.queue) {
      if (batch.length < limit && !keys.has(request.key)) {
        keys.add(request.key);
        batch.push(request);
      } else {
        rest.push(request);
      }
    }
    this.queue = rest;
    return batch;
  }

  private flush(): void {
    while (this.busy < this.options.flushers && this.queue.length > 0) {
      const batch = this.take();
      this.busy += 1;
      void this.run(batch).finally(() => {
        this.busy -= 1;
        if (this.queue.length > 0) this.schedule();
        if (this.busy === 0 && this.queue.length === 0) {
          for (const wake of this.idle) wake();
          this.idle.clear();
        }
      });
    }
  }

  private async run(batch: Request[]): Promise<void> {
    let outcomes: BatchOutcome[] | undefined;
    for (let attempt = 0; outcomes === undefined; attempt += 1) {
      try {
        this.seed = (this.seed + 1) % 1_000_000;
        this.stats.batches += 1;
        this.stats.vouchers += batch.length;
        outcomes = await postBatch(
          this.exec,
          batch.map((r) => r.posting),
          batch.map((r) => r.wide),
          accountingDate(this.clock),
          this.seed,
        );
      } catch (error) {
        if (isRetryable(error) && attempt < this.options.retryMax) {
          this.stats.retries += 1;
          this.logger.debug({ err: error, attempt, size: batch.length }, 'ledger batch retried');
          await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 4 * (attempt + 1)));
          continue;
        }
        this.logger.error({ err: error, size: batch.length }, 'ledger batch failed');
        for (const request of batch) request.reject(error);
        return;
      }
    }
    batch.forEach((request, i) => {
      const outcome = outcomes[i]!;
      if (outcome.status === 'retry_wide') {
        // Its sub-account slot was short: go again with every slot of the account locked.
        assert(!request.wide, 'a wide posting never asks to be widened');
        request.wide = true;
        this.queue.push(request);
        this.schedule();
        return;
      }
      request.resolve(outcome);
    });
  }
}
