/**
 * The gateway front's neutral view of a bank: every adapter turns these calls into its bank's
 * wire format, signs them, makes the call with a bounded timeout, verifies the answer, and
 * turns it back. Nothing here touches the database.
 */

export type BankTxnStatus = 'processing' | 'success' | 'failed';

/** A transaction as the bank reports it (reply, query or callback). */
export interface BankTxn {
  readonly requestId: string;
  readonly bankRef: string;
  readonly status: BankTxnStatus;
  readonly reason: string | null;
  readonly amount: bigint;
  readonly currency: string;
}

export type BankReply =
  | { readonly type: 'sms_sent'; readonly signId: string }
  | { readonly type: 'signed'; readonly agreementNo: string; readonly last4: string }
  | { readonly type: 'accepted'; readonly txn: BankTxn }
  | { readonly type: 'found'; readonly txn: BankTxn }
  | { readonly type: 'not_found' }
  | { readonly type: 'rejected'; readonly reason: string };

/**
 * How a call ended. Only `unreachable` proves the bank never saw the request; `timeout` and
 * `bad_reply` leave the result unknown.
 */
export type BankCallResult =
  | { readonly kind: 'answered'; readonly reply: BankReply; readonly latencyMs: number }
  | { readonly kind: 'unreachable'; readonly detail: string }
  | { readonly kind: 'timeout'; readonly detail: string }
  | { readonly kind: 'bad_reply'; readonly detail: string };

export interface MoneyRequest {
  readonly requestId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly notifyUrl: string;
}

export type CallbackParse = { readonly ok: true; readonly txn: BankTxn } | { readonly ok: false; readonly reason: string };

/** What the callback route answers the bank with. */
export interface CallbackAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface BankAdapter {
  readonly bank: string;
  signApply(request: { requestId: string; cardNo: string; holderName: string; phone: string }): Promise<BankCallResult>;
  signConfirm(request: { signId: string; smsCode: string }): Promise<BankCallResult>;
  pay(request: MoneyRequest & { agreementNo: string }): Promise<BankCallResult>;
  payout(request: MoneyRequest & { agreementNo: string }): Promise<BankCallResult>;
  refund(request: MoneyRequest & { originalRequestId: string }): Promise<BankCallResult>;
  query(requestId: string): Promise<BankCallResult>;
  /** Verifies and reads a callback; `raw` is the exact body as received. */
  parseCallback(headers: Record<string, string | string[] | undefined>, raw: string): CallbackParse;
  callbackAck(): CallbackAnswer;
  callbackRefusal(): CallbackAnswer;
}

export interface WireResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/**
 * One HTTP call with a hard timeout. A refused connection means the bank never got the
 * request; every other failure after the request may have left leaves the result unknown.
 */
export async function wireCall(url: string, init: { headers: Record<string, string>; body: string }, timeoutMs: number): Promise<{ ok: true; response: WireResponse; latencyMs: number } | Exclude<BankCallResult, { kind: 'answered' }>> {
  const began = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  for (let attempt = 0; ; attempt += 1) {
    try {
      const response = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal });
      const body = await response.text();
      return { ok: true, response: { status: response.status, headers: response.headers, body }, latencyMs: performance.now() - began };
    } catch (error) {
      const err = error as { name?: string; message?: string; cause?: { code?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError') return { kind: 'timeout', detail: `no answer within ${timeoutMs} ms` };
      const code = err.cause?.code ?? '';
      // Refused on the first try proves the bank never saw it; after a broken first try it proves nothing.
      if (code === 'ECONNREFUSED') return attempt === 0 ? { kind: 'unreachable', detail: code } : { kind: 'timeout', detail: `connection lost, then refused` };
      // A kept-alive socket the bank closed (it restarted) fails at once: one more try, same
      // request id, same bank, within the same deadline. Banks treat a repeated request id as
      // the same request, so this can never pay twice.
      if (attempt === 0 && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') && !signal.aborted) continue;
      return { kind: 'timeout', detail: code || err.message || 'network error' };
    }
  }
}
