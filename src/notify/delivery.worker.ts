/**
 * Delivers due notifications: claims a bounded number, POSTs each with a timeout (no database
 * transaction is open meanwhile), and records the outcome. Claimed tries run concurrently up to
 * notifyBatchMax per process; a slow receiver holds one slot, not the loop.
 */
import { intervalWorker, type Config, type Logger, type Worker } from '../platform/index.js';
import { refusedDestination } from './address-guard.js';
import type { DeliveryKind } from './delivery-kind.js';
import type { DeliveryRepository, TryOutcome } from './delivery.repository.js';
import type { DeliveryRow } from './notify.table.js';

/** Beyond the kind's timeout, how long a claimed try stays leased before another process may retry it. */
const leaseMarginMs = 2_000;
const responseBytesMax = 4_096;

export interface DeliveryWorkerDeps {
  readonly repository: DeliveryRepository;
  readonly kinds: ReadonlyMap<string, DeliveryKind>;
  readonly config: Config;
  readonly logger: Logger;
}

/** Reads at most `max` bytes of a reply (an acknowledgement is short; a huge page is not read). */
async function readLimited(response: Response, max: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** One try; unless `allowPrivate`, a destination on a private or reserved address is refused unasked. */
export async function tryOnce(kind: DeliveryKind, row: DeliveryRow, now: Date, allowPrivate = false): Promise<TryOutcome> {
  if (!allowPrivate) {
    const refused = await refusedDestination(row.url);
    if (refused) return { ok: false, error: refused };
  }
  try {
    const prepared = await kind.prepare({ clientId: row.client_id, body: row.body }, now);
    const response = await fetch(row.url, {
      method: 'POST',
      headers: { 'user-agent': 'Paycore-Notify/1', ...prepared.headers },
      body: prepared.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(kind.timeoutMs),
    });
    const text = await readLimited(response, responseBytesMax);
    if (kind.acknowledged(response.status, text)) return { ok: true, httpStatus: response.status };
    return { ok: false, httpStatus: response.status, error: `not acknowledged: HTTP ${response.status}` };
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return { ok: false, error: `no acknowledgement within ${kind.timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, error: cause?.code ?? cause?.message ?? (error as Error).message ?? String(error) };
  }
}

export class DeliveryWorker implements Worker {
  readonly name = 'notify:delivery';
  private readonly inner: Worker;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.inner = intervalWorker(this.name, deps.config.notifyIntervalMs, deps.logger, () => this.step());
  }

  start(): void {
    this.inner.start();
  }

  async stop(): Promise<void> {
    await this.inner.stop();
    await Promise.all([...this.inFlight]);
  }

  /** Claims what fits in the free slots and starts those tries; true when more may be due now. */
  async step(): Promise<boolean> {
    const { repository, kinds, config } = this.deps;
    const capacity = config.notifyBatchMax - this.inFlight.size;
    if (capacity <= 0 || kinds.size === 0) return false;
    const leaseMs = Math.max(...[...kinds.values()].map((kind) => kind.timeoutMs)) + leaseMarginMs;
    const rows = await repository.claim([...kinds.keys()], capacity, config.notifyConcurrencyPerClient, leaseMs);
    for (const row of rows) {
      const running: Promise<void> = this.deliver(row).finally(() => this.inFlight.delete(running));
      this.inFlight.add(running);
    }
    return rows.length === capacity;
  }

  private async deliver(row: DeliveryRow): Promise<void> {
    const kind = this.deps.kinds.get(row.kind)!;
    const startedAt = new Date();
    const outcome = await tryOnce(kind, row, startedAt, this.deps.config.notifyPrivateAddresses);
    try {
      const status = await this.deps.repository.finish(row, outcome, kind.scheduleMs, startedAt);
      const log = { delivery: row.id, eventId: row.event_id, attempt: row.attempts, status, ...(outcome.ok ? {} : { error: outcome.error }) };
      if (status === 'failed') this.deps.logger.warn(log, 'notification failed for good');
      else this.deps.logger.debug(log, 'notification try');
    } catch (error) {
      // The lease runs out and the try is made again: the receiver sees the same id twice at worst.
      this.deps.logger.error({ err: error, delivery: row.id }, 'could not record a notification try');
    }
  }
}
