/**
 * What the bank does, independent of its wire format: binds cards with an SMS code, accepts
 * debits, refunds and payouts, settles them after a delay, and calls the merchant back.
 * Outcomes follow the test card's ending and the behaviour set at run time.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { bankProfiles, cardOutcome, networkCardPrefix, type BankName } from './bank-profile.js';
import { openCard, sealCard } from './network-token.js';
import { defaultBehaviour, type Agreement, type Behaviour, type SimReply, type SimRequest, type Txn, type TxnService } from './sim-model.js';
import type { SimStore } from './sim-store.js';

const smsValidMs = 5 * 60_000;
const smsAttemptsMax = 5;

/** Sends one callback for a settled transaction; resolves true when the merchant acknowledged it. */
export type CallbackSender = (url: string, txn: Txn) => Promise<boolean>;

export interface EngineOptions {
  readonly bank: BankName;
  readonly store: SimStore;
  readonly networkKey: string;
  readonly defaultNotifyUrl: string | undefined;
  readonly sendCallback: CallbackSender;
  readonly log: (message: string) => void;
}

export class BankEngine {
  behaviour: Behaviour = defaultBehaviour;
  readonly counters = { requests: 0, callbacksSent: 0, callbacksAcked: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly options: EngineOptions) {
    // Transactions accepted before a restart settle and call back as if nothing happened.
    for (const txn of options.store.txns.values()) if (txn.status === 'PROCESSING') this.scheduleSettle(txn.requestId);
  }

  get profile() {
    return bankProfiles[this.options.bank];
  }

  serves(cardNo: string): boolean {
    return /^\d{16}$/.test(cardNo) && this.profile.cardPrefixes.some((prefix) => cardNo.startsWith(prefix));
  }

  /** One latency sample: fixed part plus uniform jitter. */
  latency(): number {
    const { latencyMs, latencyJitterMs } = this.behaviour;
    return latencyMs + (latencyJitterMs > 0 ? randomInt(latencyJitterMs + 1) : 0);
  }

  handle(request: SimRequest): SimReply {
    this.counters.requests += 1;
    switch (request.service) {
      case 'sign_apply':
        return this.signApply(request);
      case 'sign_confirm':
        return this.signConfirm(request);
      case 'pay':
      case 'payout':
        return this.debitOrCredit(request);
      case 'refund':
        return this.refund(request);
      case 'query':
        return this.query(request.requestId);
    }
  }

  private signApply(request: Extract<SimRequest, { service: 'sign_apply' }>): SimReply {
    if (!this.serves(request.cardNo)) return { result: 'REJECTED', reason: 'CARD_NOT_SUPPORTED' };
    if (!/^\+?\d{6,15}$/.test(request.phone)) return { result: 'REJECTED', reason: 'INVALID_PHONE' };
    const now = Date.now();
    const code = String(randomInt(1_000_000)).padStart(6, '0');
    const agreement: Agreement = { signId: `${this.options.bank.toUpperCase()}S${randomUUID().replaceAll('-', '')}`, cardNo: request.cardNo, phone: request.phone, holderName: request.holderName, smsCode: code, sentAt: now, attempts: 0, agreementNo: null };
    this.options.store.saveAgreement(agreement);
    this.options.store.saveSms(request.phone, code, now);
    this.options.log(`sms to ${request.phone.slice(0, 3)}****: sign code sent`);
    return { result: 'SMS_SENT', signId: agreement.signId };
  }

  private signConfirm(request: Extract<SimRequest, { service: 'sign_confirm' }>): SimReply {
    const agreement = this.options.store.agreements.get(request.signId);
    if (!agreement) return { result: 'REJECTED', reason: 'SIGN_NOT_FOUND' };
    if (agreement.agreementNo) return { result: 'SIGNED', agreementNo: agreement.agreementNo, last4: agreement.cardNo.slice(-4) };
    if (agreement.attempts >= smsAttemptsMax) return { result: 'REJECTED', reason: 'SMS_CODE_LOCKED' };
    if (Date.now() - agreement.sentAt > smsValidMs) return { result: 'REJECTED', reason: 'SMS_CODE_EXPIRED' };
    if (agreement.smsCode !== request.smsCode) {
      this.options.store.saveAgreement({ ...agreement, attempts: agreement.attempts + 1 });
      return { result: 'REJECTED', reason: 'SMS_CODE_WRONG' };
    }
    const agreementNo = agreement.cardNo.startsWith(networkCardPrefix)
      ? sealCard(this.options.networkKey, agreement.cardNo)
      : `${this.options.bank.toUpperCase()}AG${randomUUID().replaceAll('-', '')}`;
    this.options.store.saveAgreement({ ...agreement, agreementNo });
    return { result: 'SIGNED', agreementNo, last4: agreement.cardNo.slice(-4) };
  }

  /** The card an agreement pays with: a local binding, or a network token any bank can open. */
  private cardOf(agreementNo: string): string | undefined {
    const local = this.options.store.agreementsByNo.get(agreementNo);
    if (local) return local.cardNo;
    const card = openCard(this.options.networkKey, agreementNo);
    return card && this.serves(card) ? card : undefined;
  }

  private debitOrCredit(request: Extract<SimRequest, { service: 'pay' | 'payout' }>): SimReply {
    const repeat = this.repeatOf(request.requestId, request.service, request.amount);
    if (repeat) return repeat;
    const card = this.cardOf(request.agreementNo);
    if (!card) return { result: 'REJECTED', reason: 'AGREEMENT_NOT_FOUND' };
    const outcome = cardOutcome(card);
    let finalStatus: Txn['finalStatus'] = 'SUCCESS';
    let reason: string | null = null;
    if (outcome === 'declined') [finalStatus, reason] = ['FAILED', 'DECLINED'];
    if (outcome === 'insufficient_funds' && request.service === 'pay') [finalStatus, reason] = ['FAILED', 'INSUFFICIENT_FUNDS'];
    return this.accept(request.service, request, card, request.agreementNo, null, finalStatus, reason, outcome === 'never_answers');
  }

  private refund(request: Extract<SimRequest, { service: 'refund' }>): SimReply {
    const repeat = this.repeatOf(request.requestId, 'refund', request.amount);
    if (repeat) return repeat;
    const original = this.settled(this.options.store.txns.get(request.originalRequestId));
    if (!original || original.service !== 'pay') return { result: 'REJECTED', reason: 'ORIGINAL_NOT_FOUND' };
    if (original.status !== 'SUCCESS') return { result: 'REJECTED', reason: 'ORIGINAL_NOT_PAID' };
    let refunded = 0n;
    for (const txn of this.options.store.txns.values()) {
      if (txn.service === 'refund' && txn.originalRequestId === original.requestId && txn.finalStatus === 'SUCCESS') refunded += txn.amount;
    }
    if (refunded + request.amount > original.amount) return { result: 'REJECTED', reason: 'REFUND_EXCEEDS_PAYMENT' };
    return this.accept('refund', request, `************${original.cardLast4}`, original.agreementNo, original.requestId, 'SUCCESS', null, false);
  }

  /** The same request id again: the same request gets the same transaction, another one is refused. */
  private repeatOf(requestId: string, service: TxnService, amount: bigint): SimReply | undefined {
    const existing = this.settled(this.options.store.txns.get(requestId));
    if (!existing) return undefined;
    if (existing.service !== service || existing.amount !== amount) return { result: 'REJECTED', reason: 'DUPLICATE_REQUEST_ID' };
    return { result: 'ACCEPTED', txn: existing };
  }

  private accept(service: TxnService, request: { requestId: string; amount: bigint; currency: string; notifyUrl: string | null }, card: string, agreementNo: string | null, originalRequestId: string | null, status: Txn['finalStatus'], reason: string | null, neverAnswers: boolean): SimReply {
    const behaviour = this.behaviour;
    let finalStatus = status;
    let finalReason = reason;
    if (Math.random() < behaviour.failureRate) [finalStatus, finalReason] = ['FAILED', 'SYSTEM_ERROR'];
    const silent = neverAnswers || Math.random() < behaviour.timeoutRate;
    const now = Date.now();
    // A never-answering card settles late, as a success; anything else after one latency sample.
    const settleAt = neverAnswers ? now + behaviour.unknownSettleMs : now + this.latency();
    const txn: Txn = {
      requestId: request.requestId,
      bankRef: `${this.options.bank.toUpperCase()}${now.toString(36).toUpperCase()}${randomInt(1e9).toString(36).toUpperCase()}`,
      service,
      amount: request.amount,
      currency: request.currency,
      cardLast4: card.slice(-4),
      agreementNo,
      originalRequestId,
      notifyUrl: request.notifyUrl,
      status: 'PROCESSING',
      finalStatus: neverAnswers ? 'SUCCESS' : finalStatus,
      reason: neverAnswers ? null : finalReason,
      silent,
      settleAt,
      createdAt: now,
      finishedAt: null,
    };
    this.options.store.saveTxn(txn);
    this.scheduleSettle(txn.requestId);
    return silent ? { result: 'HANG' } : { result: 'ACCEPTED', txn };
  }

  private query(requestId: string): SimReply {
    const txn = this.settled(this.options.store.txns.get(requestId));
    return txn ? { result: 'FOUND', txn } : { result: 'NOT_FOUND' };
  }

  /** The transaction as of now: settled lazily, so a query after a restart sees the right state. */
  settled(txn: Txn | undefined): Txn | undefined {
    if (!txn || txn.status !== 'PROCESSING' || Date.now() < txn.settleAt) return txn;
    const done: Txn = { ...txn, status: txn.finalStatus, finishedAt: txn.settleAt };
    this.options.store.saveTxn(done);
    return this.options.store.txns.get(txn.requestId);
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) fn();
    }, Math.max(0, ms));
    this.timers.add(timer);
  }

  private scheduleSettle(requestId: string): void {
    const txn = this.options.store.txns.get(requestId);
    if (!txn) return;
    this.later(txn.settleAt - Date.now(), () => {
      const current = this.options.store.txns.get(requestId);
      // Timers may fire a millisecond early; the transaction settles at settleAt, not before.
      if (current?.status === 'PROCESSING' && Date.now() < current.settleAt) return this.scheduleSettle(requestId);
      const done = this.settled(current);
      if (!done || done.silent || done.status === 'PROCESSING') return;
      const { lateCallbackMs, duplicateCallbackRate } = this.behaviour;
      this.later(lateCallbackMs, () => void this.deliver(done, 0));
      if (Math.random() < duplicateCallbackRate) this.later(lateCallbackMs + 20 + randomInt(100), () => void this.deliver(done, 0));
    });
  }

  /** Callbacks are retried a bounded number of times when the merchant does not acknowledge. */
  private async deliver(txn: Txn, attempt: number): Promise<void> {
    const url = txn.notifyUrl ?? this.options.defaultNotifyUrl;
    if (!url) return;
    this.counters.callbacksSent += 1;
    let acked = false;
    try {
      acked = await this.options.sendCallback(url, txn);
    } catch {
      acked = false;
    }
    if (acked) this.counters.callbacksAcked += 1;
    else if (attempt < 3) this.later([200, 1_000, 3_000][attempt]!, () => void this.deliver(txn, attempt + 1));
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
