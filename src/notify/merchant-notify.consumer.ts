/**
 * Turns client-visible events (trade, refund, recharge, withdrawal, transfer) into merchant
 * notifications: the object's notify_url, else the client's default URL; none, no notification.
 * The body `{id, type, created_at, data}` is fixed here, with the event's id, for every try.
 */
import type { Transaction } from 'kysely';
import type { Client, ClientService } from '../access/index.js';
import { asClientObjectPayload, type BusEvent, type ConsumerSpec } from '../events/index.js';
import type { Logger } from '../platform/index.js';
import { enqueueDelivery } from './delivery.repository.js';
import type { NotifyDB } from './notify.table.js';

export const merchantTopics = ['trade.*', 'refund.*', 'recharge.*', 'withdrawal.*', 'transfer.*'] as const;

/** http(s) only, no credentials in the URL; anything else is not notified (and logged). */
export function usableNotifyUrl(raw: string | null | undefined): string | undefined {
  if (!raw || raw.length > 2_048) return undefined;
  try {
    const url = new URL(raw);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return undefined;
    return url.toString();
  } catch {
    return undefined;
  }
}

/** What the handler needs of an event: the client's notify URL checked, or nothing to send. */
interface MerchantTarget {
  readonly client: Client;
  readonly url: string;
}

export function merchantNotifyConsumer(clients: ClientService, logger: Logger): ConsumerSpec<MerchantTarget | undefined> {
  /** Where the event goes, or undefined (logged) when it goes nowhere. */
  const targetOf = (event: BusEvent, known: Map<string, Client>): MerchantTarget | undefined => {
    const payload = asClientObjectPayload(event.payload);
    if (!payload) return undefined; // not a client-visible event
    const client = known.get(payload.client_id);
    if (!client) {
      logger.warn({ eventId: event.id, clientId: payload.client_id }, 'notification for an unknown client dropped');
      return undefined;
    }
    const raw = payload.notify_url ?? client.notifyUrl;
    const url = usableNotifyUrl(raw);
    if (!url && raw) logger.warn({ eventId: event.id, clientId: client.id }, 'notify URL is not http(s); notification dropped');
    return url ? { client, url } : undefined;
  };
  return {
    name: 'notify-merchant',
    topics: merchantTopics,
    subsystem: 'notify',
    async load(events) {
      // The batch's clients in one query.
      const ids = events.map((event) => asClientObjectPayload(event.payload)?.client_id).filter((id): id is string => id !== undefined);
      const known = await clients.getMany(ids);
      return events.map((event) => targetOf(event, known));
    },
    // Nothing to send (no URL, unknown client): no transaction, no processed record.
    skips: (_event, target) => target === undefined,
    async handle(event: BusEvent, trx: Transaction<NotifyDB>, target: MerchantTarget | undefined) {
      const payload = asClientObjectPayload(event.payload);
      if (!payload || !target) return;
      const body = JSON.stringify({ id: event.id, type: event.type, created_at: event.occurredAt, data: payload.object });
      await enqueueDelivery(trx, { kind: 'merchant', clientId: target.client.id, eventId: event.id, eventType: event.type, url: target.url, body });
    },
  };
}
