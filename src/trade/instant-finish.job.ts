/**
 * The end of an instant trade's refund window (API.md: `finished` = "no longer refundable"). The
 * trade-jobs worker moves each paid instant trade past the window `success → finished` with a
 * compare-and-set and emits `trade.finished` in the same transaction. A refund reserved before
 * the move goes on (it locked the row first); one asked for after the window is refused, whether
 * or not the job has caught up yet (refund.service.ts asks `refundWindowEnded`).
 */
import type { Kysely } from 'kysely';
import type { Clock, Logger } from '../platform/index.js';
import * as trades from './trade.repository.js';
import type { TradeDB, TradeRow } from './trade.table.js';

export interface InstantFinishDeps {
  readonly db: Kysely<TradeDB>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly refundWindowMs: number;
}

/** True when `row` is an instant trade whose refund window is over at `now` (escrow trades have none). */
export function refundWindowEnded(row: Pick<TradeRow, 'kind' | 'status' | 'paid_at'>, now: Date, refundWindowMs: number): boolean {
  if (row.kind !== 'instant') return false;
  if (row.status === 'finished') return true;
  return row.status === 'success' && row.paid_at !== null && row.paid_at.getTime() + refundWindowMs <= now.getTime();
}

export class InstantFinishJob {
  constructor(private readonly deps: InstantFinishDeps) {}

  /** One bounded pass: every instant trade paid before `now − window` (up to `limit`) → finished. */
  async run(now: Date = this.deps.clock.now(), limit = 100): Promise<number> {
    const due = await trades.instantRefundEnded(this.deps.db, new Date(now.getTime() - this.deps.refundWindowMs), limit);
    let finished = 0;
    for (const row of due) {
      const moved = await this.deps.db.transaction().execute(async (trx) => {
        const after = await trades.move(trx, row, ['success'], 'finished', { finished_at: now }, now);
        if (after) await trades.emitChange(trx, after, 'finished');
        return after;
      });
      // Not moved: closed by a full refund meanwhile, or another worker was first.
      if (moved) finished += 1;
    }
    if (finished > 0) this.deps.logger.debug({ finished }, 'instant trades past their refund window finished');
    return finished;
  }
}
