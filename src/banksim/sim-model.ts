/** The simulated bank's own model: requests in its neutral form, transactions, behaviour. */

/** The bank's configured misbehaviour; set at run time through the admin endpoint. */
export interface Behaviour {
  /** Every answer (and every settlement) waits latencyMs plus up to latencyJitterMs. */
  readonly latencyMs: number;
  readonly latencyJitterMs: number;
  /** Share of accepted transactions that end FAILED with SYSTEM_ERROR (the bank's fault). */
  readonly failureRate: number;
  /** Share of accepted transactions that are processed but never answered nor called back. */
  readonly timeoutRate: number;
  /** Share of callbacks sent twice. */
  readonly duplicateCallbackRate: number;
  /** Callbacks wait this long after settlement (late callbacks). */
  readonly lateCallbackMs: number;
  /** Dark: every service request is held open and never answered, nothing is recorded. */
  readonly down: boolean;
  /** When a never-answering (card ending 0119) transaction settles, as SUCCESS. */
  readonly unknownSettleMs: number;
}

export const defaultBehaviour: Behaviour = {
  latencyMs: 20,
  latencyJitterMs: 10,
  failureRate: 0,
  timeoutRate: 0,
  duplicateCallbackRate: 0,
  lateCallbackMs: 0,
  down: false,
  unknownSettleMs: 3_000,
};

export type TxnService = 'pay' | 'refund' | 'payout';
export type TxnStatus = 'PROCESSING' | 'SUCCESS' | 'FAILED';

/** One money movement at the bank. Its outcome is decided on acceptance and shown once settled. */
export interface Txn {
  readonly requestId: string;
  readonly bankRef: string;
  readonly service: TxnService;
  readonly amount: bigint;
  readonly currency: string;
  readonly cardLast4: string;
  readonly agreementNo: string | null;
  readonly originalRequestId: string | null;
  readonly notifyUrl: string | null;
  status: TxnStatus;
  readonly finalStatus: Exclude<TxnStatus, 'PROCESSING'>;
  readonly reason: string | null;
  /** Accepted but never answered: no reply, no callback; only a query tells. */
  readonly silent: boolean;
  readonly settleAt: number;
  readonly createdAt: number;
  finishedAt: number | null;
}

/** A service request after the wire format was decoded and its signature checked. */
export type SimRequest =
  | { readonly service: 'sign_apply'; readonly requestId: string; readonly cardNo: string; readonly holderName: string; readonly phone: string }
  | { readonly service: 'sign_confirm'; readonly signId: string; readonly smsCode: string }
  | { readonly service: 'pay' | 'payout'; readonly requestId: string; readonly agreementNo: string; readonly amount: bigint; readonly currency: string; readonly notifyUrl: string | null }
  | { readonly service: 'refund'; readonly requestId: string; readonly originalRequestId: string; readonly amount: bigint; readonly currency: string; readonly notifyUrl: string | null }
  | { readonly service: 'query'; readonly requestId: string };

/** The bank's answer in neutral form; the codec renders it in the bank's wire format. */
export type SimReply =
  | { readonly result: 'SMS_SENT'; readonly signId: string }
  | { readonly result: 'SIGNED'; readonly agreementNo: string; readonly last4: string }
  | { readonly result: 'ACCEPTED'; readonly txn: Txn }
  | { readonly result: 'FOUND'; readonly txn: Txn }
  | { readonly result: 'NOT_FOUND' }
  | { readonly result: 'REJECTED'; readonly reason: string }
  | { readonly result: 'HANG' };

/** A pending or confirmed card binding at the bank (the bank, unlike Paycore, keeps the card). */
export interface Agreement {
  readonly signId: string;
  readonly cardNo: string;
  readonly phone: string;
  readonly holderName: string;
  readonly smsCode: string;
  readonly sentAt: number;
  attempts: number;
  agreementNo: string | null;
}

/** Discrepancies the statement of one day is told to contain (for reconciliation tests). */
export interface StatementDiscrepancy {
  readonly missing: number;
  readonly extra: number;
  readonly amount: number;
}
