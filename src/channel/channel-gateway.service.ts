/**
 * The channel gateway's public face for the payment core and the member subsystem. pay(),
 * refund() and payout() record a channel order and return it at once (status processing: the
 * internal voucher); the bank call happens after the insert committed, and the result arrives
 * later by callback or query. Outcomes: onResult() in this process, getOrder()/findOrder() to
 * poll, and the channel.outbox events (channel.order_succeeded / channel.order_failed).
 */
import { strict as assert } from 'node:assert';
import { sql, type Kysely } from 'kysely';
import { isId, newId, withContext, type Logger, type PlatformContext } from '../platform/index.js';
import { CardBindingService, toCardAgreement, type CardAgreement, type SignCardInput, type SignCardResult, type VerifyCardResult } from './card-binding.service.js';
import type { CircuitFigures } from './circuit-breaker.js';
import { toChannelOrder, type ChannelOrder } from './channel-order.js';
import { findByInstruction, findOrder, insertOrder, refundedOrPending } from './channel-order.repository.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { ChannelDB, ChannelRow, ChannelService, ChannelOrderRow, OrderService } from './channel.table.js';
import type { OrderProcessor, ResultListener } from './order-processor.js';

export interface PayInput {
  /** The payment instruction this request serves; one order per (instruction, service). */
  readonly instructionId: string;
  readonly agreementId: string;
  readonly amount: bigint;
  readonly currency?: string;
  readonly ctx: PlatformContext;
}

export interface RefundInput {
  readonly instructionId: string;
  /** The pay order being refunded; a refund always goes to the bank that took the payment. */
  readonly originalOrderId: string;
  readonly amount: bigint;
  readonly currency?: string;
  readonly ctx: PlatformContext;
}

export type OrderRefusal = 'INVALID_AMOUNT' | 'AGREEMENT_NOT_ACTIVE' | 'NO_CHANNEL' | 'INSTRUCTION_CONFLICT' | 'ORIGINAL_NOT_FOUND' | 'ORIGINAL_NOT_PAID' | 'REFUND_EXCEEDS_PAYMENT';

/** created: false when the same request was made before (the same order comes back). */
export type OrderResult = { readonly ok: true; readonly order: ChannelOrder; readonly created: boolean } | { readonly ok: false; readonly reason: OrderRefusal };

/** A channel with its live figures, for the console and /admin/channels. */
export interface ChannelView {
  readonly id: string;
  readonly code: string;
  readonly bank: string;
  readonly name: string;
  readonly services: readonly ChannelService[];
  readonly cardBins: readonly string[];
  readonly currency: string;
  readonly minAmount: bigint;
  readonly maxAmount: bigint;
  readonly costRateBp: number;
  readonly costFixed: bigint;
  readonly enabled: boolean;
  readonly switchedBy: string | null;
  readonly switchedAt: Date | null;
  readonly live: CircuitFigures;
}

/** Where a poller of results stopped. */
export interface ResultCursor {
  readonly finishedAt: Date;
  readonly id: string;
}

export class ChannelGateway {
  readonly cards: CardBindingService;

  constructor(
    private readonly db: Kysely<ChannelDB>,
    private readonly registry: ChannelRegistry,
    private readonly processor: OrderProcessor,
    private readonly maxAmountMinor: bigint,
    cardHashKey: string,
    logger: Logger,
  ) {
    this.cards = new CardBindingService(db, registry, cardHashKey, logger);
  }

  /** Binds a card: the bank texts a code to the phone. */
  signCard(input: SignCardInput): Promise<SignCardResult> {
    return this.cards.signCard(input);
  }

  /** Confirms a binding with the SMS code; the agreement id is what pay()/payout() take. */
  verifyCard(signId: string, smsCode: string): Promise<VerifyCardResult> {
    return this.cards.verifyCard(signId, smsCode);
  }

  async getAgreement(id: string): Promise<CardAgreement | undefined> {
    if (!isId(id)) return undefined;
    const row = await this.cards.find(id);
    return row ? toCardAgreement(row) : undefined;
  }

  /** Debits a bound card. Returns at once with the order (processing); the result comes later. */
  pay(input: PayInput): Promise<OrderResult> {
    return this.moneyOrder('pay', input);
  }

  /** Pays out to a bound card (withdrawal). */
  payout(input: PayInput): Promise<OrderResult> {
    return this.moneyOrder('payout', input);
  }

  private validAmount(amount: bigint): boolean {
    return amount > 0n && amount <= this.maxAmountMinor;
  }

  private async repeat(service: OrderService, instructionId: string, same: (row: ChannelOrderRow) => boolean): Promise<OrderResult> {
    const existing = await findByInstruction(this.db, instructionId, service);
    if (!existing) throw new Error(`order for ${instructionId}/${service} vanished`);
    return same(existing) ? { ok: true, order: toChannelOrder(existing), created: false } : { ok: false, reason: 'INSTRUCTION_CONFLICT' };
  }

  private async moneyOrder(service: 'pay' | 'payout', input: PayInput): Promise<OrderResult> {
    const currency = input.currency ?? 'CNY';
    if (!this.validAmount(input.amount)) return { ok: false, reason: 'INVALID_AMOUNT' };
    const same = (row: ChannelOrderRow) => row.amount === input.amount && row.currency === currency && row.agreement_id === input.agreementId;
    // A repeat is found by the insert's conflict below; no read first on the common path.
    // A refusal is checked against an earlier order first: a repeat gets its order whatever the
    // channels look like now (the caller must never think a sent payment was refused).
    const refuse = async (reason: OrderRefusal): Promise<OrderResult> => {
      const existing = await findByInstruction(this.db, input.instructionId, service);
      if (existing) return same(existing) ? { ok: true, order: toChannelOrder(existing), created: false } : { ok: false, reason: 'INSTRUCTION_CONFLICT' };
      return { ok: false, reason };
    };
    const agreement = isId(input.agreementId) ? await this.cards.findActive(input.agreementId) : undefined;
    if (!agreement) return refuse('AGREEMENT_NOT_ACTIVE');
    await this.registry.refreshIfStale();
    const [channel] = this.registry.route({ service, cardBin: agreement.card_bin, amount: input.amount, currency, bank: agreement.network ? undefined : agreement.bank, exclude: [] });
    if (!channel) return refuse('NO_CHANNEL');
    const row = await insertOrder(this.db, {
      id: newId(),
      instruction_id: input.instructionId,
      service,
      channel_id: channel.id,
      bank: channel.bank,
      agreement_id: agreement.id,
      original_order_id: null,
      amount: input.amount,
      currency,
      send_claimed_until: this.claimUntil(),
      ctx: JSON.stringify(withContext(input.ctx, { institution: channel.bank })),
    });
    if (!row) return this.repeat(service, input.instructionId, same);
    assert.ok(row.amount === input.amount && row.status === 'processing', `order ${row.id} was not written as asked`);
    // Committed (a single-statement insert): only now may the bank hear of it.
    this.processor.enqueueSend(row, agreement, true);
    return { ok: true, order: toChannelOrder(row), created: true };
  }

  private claimUntil(): Date {
    return new Date(Date.now() + this.processor.claimMs);
  }

  /** Refunds (part of) a successful payment, through the bank that took it. */
  async refund(input: RefundInput): Promise<OrderResult> {
    const currency = input.currency ?? 'CNY';
    if (!this.validAmount(input.amount)) return { ok: false, reason: 'INVALID_AMOUNT' };
    const same = (row: ChannelOrderRow) => row.amount === input.amount && row.currency === currency && row.original_order_id === input.originalOrderId;
    const existing = await findByInstruction(this.db, input.instructionId, 'refund');
    if (existing) return same(existing) ? { ok: true, order: toChannelOrder(existing), created: false } : { ok: false, reason: 'INSTRUCTION_CONFLICT' };
    if (!isId(input.originalOrderId)) return { ok: false, reason: 'ORIGINAL_NOT_FOUND' };
    const outcome = await this.db.transaction().execute(async (trx): Promise<OrderRefusal | ChannelOrderRow | undefined> => {
      // The payment row is locked so two refunds cannot both fit under what was paid.
      const original = await trx.selectFrom('channel.channel_order').selectAll().where('id', '=', input.originalOrderId).forUpdate().executeTakeFirst();
      if (!original || original.service !== 'pay') return 'ORIGINAL_NOT_FOUND';
      if (original.status !== 'success' || original.currency !== currency) return 'ORIGINAL_NOT_PAID';
      if ((await refundedOrPending(trx, original.id)) + input.amount > original.amount) return 'REFUND_EXCEEDS_PAYMENT';
      const inserted = await insertOrder(trx, {
        id: newId(),
        instruction_id: input.instructionId,
        service: 'refund',
        channel_id: original.channel_id,
        bank: original.bank,
        agreement_id: original.agreement_id,
        original_order_id: original.id,
        amount: input.amount,
        currency,
        send_claimed_until: this.claimUntil(),
        ctx: JSON.stringify(withContext(input.ctx, { institution: original.bank })),
      });
      // Read back under the same lock: the refunds of a payment never exceed it.
      assert.ok((await refundedOrPending(trx, original.id)) <= original.amount, `refunds of ${original.id} exceed the payment`);
      return inserted;
    });
    if (typeof outcome === 'string') return { ok: false, reason: outcome };
    if (!outcome) return this.repeat('refund', input.instructionId, same);
    this.processor.enqueueSend(outcome, undefined, true);
    return { ok: true, order: toChannelOrder(outcome), created: true };
  }

  /** The order as we know it now (the voucher id from pay/refund/payout). */
  async getOrder(id: string): Promise<ChannelOrder | undefined> {
    if (!isId(id)) return undefined;
    const row = await findOrder(this.db, id);
    return row ? toChannelOrder(row) : undefined;
  }

  /** The order serving an instruction, for a caller that lost the voucher. */
  async findOrder(instructionId: string, service: OrderService): Promise<ChannelOrder | undefined> {
    const row = await findByInstruction(this.db, instructionId, service);
    return row ? toChannelOrder(row) : undefined;
  }

  /** Asks the bank now about an open order (instead of waiting for the query schedule); returns the order after. */
  async query(id: string): Promise<ChannelOrder | undefined> {
    if (!isId(id)) return undefined;
    const row = await findOrder(this.db, id);
    if (!row) return undefined;
    if ((row.status === 'processing' || row.status === 'unknown') && row.send_state === 'sent') await this.processor.queryOne(row);
    return this.getOrder(id);
  }

  /** Called once for each order that becomes final in this process; returns an unsubscribe. */
  onResult(listener: ResultListener): () => void {
    this.processor.listeners.add(listener);
    return () => this.processor.listeners.delete(listener);
  }

  /**
   * Finished orders after a cursor, oldest first: a poller's way to learn outcomes without a
   * listener. Orders show up one second after they finished, so a transaction that took its
   * timestamp earlier but committed later is never skipped. The durable way is the bus: the
   * channel.order_succeeded / channel.order_failed events (channel.outbox, relayed by src/events).
   */
  async pollResults(cursor: ResultCursor | undefined, limit = 100): Promise<{ orders: ChannelOrder[]; cursor: ResultCursor | undefined }> {
    let query = this.db
      .selectFrom('channel.channel_order')
      .selectAll()
      .where('finished_at', 'is not', null)
      .where('finished_at', '<', sql<Date>`now() - interval '1 second'`)
      .orderBy('finished_at')
      .orderBy('id')
      .limit(Math.min(Math.max(limit, 1), 1_000));
    if (cursor) query = query.where((eb) => eb(eb.refTuple('finished_at', 'id'), '>', eb.tuple(cursor.finishedAt, cursor.id)));
    const rows = await query.execute();
    const last = rows.at(-1);
    return { orders: rows.map(toChannelOrder), cursor: last ? { finishedAt: last.finished_at!, id: last.id } : cursor };
  }

  /** Handles a bank's callback: verifies, applies once, answers in the bank's format. */
  async handleCallback(bank: string, headers: Record<string, string | string[] | undefined>, raw: string): Promise<{ status: number; contentType: string; body: string } | undefined> {
    const adapter = this.registry.adapters.get(bank);
    if (!adapter) return undefined;
    const parsed = adapter.parseCallback(headers, raw);
    if (!parsed.ok) {
      await this.processor.recordForged(bank, parsed.reason, raw);
      return adapter.callbackRefusal();
    }
    await this.processor.apply(bank, parsed.txn, 'callback');
    return adapter.callbackAck();
  }

  async listChannels(): Promise<ChannelView[]> {
    await this.registry.load();
    return this.registry.list().map((row) => this.view(row));
  }

  /** The operator's switch; undefined for an unknown channel (id or code). */
  async switchChannel(idOrCode: string, state: 'on' | 'off', by: string): Promise<ChannelView | undefined> {
    const row = await this.registry.switchChannel(idOrCode, state === 'on', by);
    return row ? this.view(row) : undefined;
  }

  private view(row: ChannelRow): ChannelView {
    return {
      id: row.id,
      code: row.code,
      bank: row.bank,
      name: row.name,
      services: row.services,
      cardBins: row.card_bins,
      currency: row.currency,
      minAmount: row.min_amount,
      maxAmount: row.max_amount,
      costRateBp: row.cost_rate_bp,
      costFixed: row.cost_fixed,
      enabled: row.enabled,
      switchedBy: row.switched_by,
      switchedAt: row.switched_at,
      live: this.registry.figures(row.id),
    };
  }
}
