/**
 * A kind of outgoing notification: how one try is signed and encoded, when it is retried, how
 * long a try may take, and what reply counts as acknowledged. Merchant notifications are one
 * kind; the Alipay gateway registers its own (form-encoded, RSA-signed, "success" reply).
 */
import type { ClientService } from '../access/index.js';
import { signatureHeader, signPayload } from './signature.js';

export interface PreparedRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface DeliveryKind {
  /** Stored with each delivery: [a-z0-9_-]. */
  readonly name: string;
  /** Waits before each retry, after the first try; when they run out the delivery fails. */
  readonly scheduleMs: readonly number[];
  /** A try that has not been acknowledged within this is a failure. */
  readonly timeoutMs: number;
  /** The request of one try, signed at `now` (the stored body is the same on every try). */
  prepare(delivery: { readonly clientId: string; readonly body: string }, now: Date): Promise<PreparedRequest>;
  /** Whether the reply acknowledges the notification. */
  acknowledged(status: number, responseText: string): boolean;
}

/** Merchant notifications: JSON, `Paycore-Signature` with the client's notify secret, any 2xx acknowledges. */
export function merchantKind(clients: ClientService, options: { scheduleMs: readonly number[]; timeoutMs: number }): DeliveryKind {
  return {
    name: 'merchant',
    scheduleMs: options.scheduleMs,
    timeoutMs: options.timeoutMs,
    async prepare(delivery, now) {
      // Read per try: a rotated secret signs the next try.
      const client = await clients.get(delivery.clientId);
      if (!client) throw new Error('the client of this notification no longer exists');
      const t = Math.floor(now.getTime() / 1000);
      return { headers: { 'content-type': 'application/json', [signatureHeader]: signPayload(client.notifySecret, t, delivery.body) }, body: delivery.body };
    },
    acknowledged: (status) => status >= 200 && status < 300,
  };
}
