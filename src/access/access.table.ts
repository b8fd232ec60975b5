/** Row types of the access schema. */
import type { Generated, Selectable } from 'kysely';

export interface ClientTable {
  id: string;
  name: string;
  notify_secret: string;
  notify_url: string | null;
  rate_limit_per_second: number | null;
  rate_limit_concurrency: number | null;
  created_at: Generated<Date>;
}

export interface ApiKeyTable {
  id: string;
  client_id: string;
  key_hash: string;
  key_prefix: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface OperatorTable {
  id: string;
  name: string;
  role: 'viewer' | 'operator' | 'admin';
  password_hash: string;
  token_hash: string;
  created_at: Generated<Date>;
}

export interface IdempotencyKeyTable {
  client_id: string;
  key: string;
  request_hash: string;
  state: 'started' | 'done';
  locked_until: Date;
  response_status: number | null;
  response_body: string | null;
  created_at: Generated<Date>;
}

export interface AccessDB {
  'access.client': ClientTable;
  'access.api_key': ApiKeyTable;
  'access.operator': OperatorTable;
  'access.idempotency_key': IdempotencyKeyTable;
}
export type ClientRow = Selectable<ClientTable>;
export type ApiKeyRow = Selectable<ApiKeyTable>;
export type OperatorRow = Selectable<OperatorTable>;
export type IdempotencyKeyRow = Selectable<IdempotencyKeyTable>;
