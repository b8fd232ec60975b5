/** Row types of the events schema. */
import type { Generated, Selectable } from 'kysely';
import type { JsonValue } from './event.js';

export interface MessageTable {
  seq: Generated<bigint>;
  id: string;
  type: string;
  key: string;
  bucket: number;
  payload: JsonValue;
  context: JsonValue;
  source: string;
  broadcast: boolean;
  occurred_at: Date;
  published_at: Generated<Date>;
}

export interface ConsumerBucketTable {
  consumer: string;
  bucket: number;
  cursor: Generated<bigint>;
  lease_owner: string | null;
  lease_until: Date | null;
  failures: Generated<number>;
  retry_at: Date | null;
  last_error: string | null;
}

export interface RelayLeaseTable {
  outbox: string;
  owner: string;
  lease_until: Date;
}

export interface DeadLetterTable {
  id: string;
  consumer: string;
  event_id: string;
  type: string;
  key: string;
  payload: JsonValue;
  context: JsonValue;
  source: string;
  occurred_at: Date;
  error: string;
  attempts: number;
  status: 'parked' | 'replaying' | 'replayed';
  created_at: Generated<Date>;
  replay_requested_at: Date | null;
  replayed_at: Date | null;
  lease_until: Date | null;
}

export interface EventsDB {
  'events.message': MessageTable;
  'events.consumer_bucket': ConsumerBucketTable;
  'events.relay_lease': RelayLeaseTable;
  'events.dead_letter': DeadLetterTable;
}
export type MessageRow = Selectable<MessageTable>;
export type DeadLetterRow = Selectable<DeadLetterTable>;
