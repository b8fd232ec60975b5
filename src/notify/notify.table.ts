/** Row types of the notify schema. */
import type { Generated, Selectable } from 'kysely';

export interface DeliveryTable {
  id: string;
  kind: string;
  client_id: string;
  event_id: string;
  event_type: string;
  url: string;
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: Generated<number>;
  retry_index: Generated<number>;
  next_attempt_at: Generated<Date>;
  lease_until: Date | null;
  last_http_status: number | null;
  last_error: string | null;
  created_at: Generated<Date>;
  delivered_at: Date | null;
}

export interface AttemptTable {
  id: string;
  delivery_id: string;
  attempt: number;
  started_at: Date;
  duration_ms: number;
  http_status: number | null;
  error: string | null;
}

export interface NotifyDB {
  'notify.delivery': DeliveryTable;
  'notify.attempt': AttemptTable;
}
export type DeliveryRow = Selectable<DeliveryTable>;
export type AttemptRow = Selectable<AttemptTable>;
