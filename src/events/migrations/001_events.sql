-- The events subsystem: its own outbox, the database bus (a message log with per-consumer
-- progress per key bucket), relay leases, processed-event records and the dead-letter list.

-- The standard outbox shape (see outboxTableSql in src/events/outbox.ts). Rows are deleted once
-- the relay has published them; the bus keeps the record.
create table events.outbox (
  seq bigint generated always as identity primary key,
  id uuid not null,
  type text not null,
  key text not null,
  payload jsonb not null,
  context jsonb not null,
  broadcast boolean not null default false,
  occurred_at timestamptz not null default now()
);

-- The standard processed-event shape (processedTableSql): one row per event a consumer applied,
-- written in the same transaction as the consumer's effect.
create table events.processed_event (
  consumer text not null,
  event_id uuid not null,
  handled_by text not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
create index processed_event_age on events.processed_event (processed_at);

-- One relay per outbox at a time keeps each key's order; the lease moves when its holder dies.
create table events.relay_lease (
  outbox text primary key,
  owner text not null,
  lease_until timestamptz not null
);

-- The database bus. seq is assigned under one advisory lock, so seq order is commit order and a
-- consumer's cursor never passes a message that commits later.
create table events.message (
  seq bigint generated always as identity primary key,
  id uuid not null unique,
  type text not null,
  key text not null,
  bucket integer not null,
  payload jsonb not null,
  context jsonb not null,
  source text not null,
  broadcast boolean not null default false,
  occurred_at timestamptz not null,
  published_at timestamptz not null default now()
);
create index message_bucket_seq on events.message (bucket, seq);
create index message_published on events.message (published_at);

-- A consumer's progress per key bucket. A process leases a bucket for one batch; the cursor is
-- the last message handled (or skipped) in that bucket.
create table events.consumer_bucket (
  consumer text not null,
  bucket integer not null,
  cursor bigint not null default 0,
  lease_owner text,
  lease_until timestamptz,
  failures integer not null default 0,
  retry_at timestamptz,
  last_error text,
  primary key (consumer, bucket)
);

-- Events a consumer gave up on after its retries; an operator can replay them.
create table events.dead_letter (
  id uuid primary key,
  consumer text not null,
  event_id uuid not null,
  type text not null,
  key text not null,
  payload jsonb not null,
  context jsonb not null,
  source text not null,
  occurred_at timestamptz not null,
  error text not null,
  attempts integer not null,
  status text not null check (status in ('parked', 'replaying', 'replayed')),
  created_at timestamptz not null default now(),
  replay_requested_at timestamptz,
  replayed_at timestamptz,
  lease_until timestamptz,
  unique (consumer, event_id)
);
create index dead_letter_status on events.dead_letter (status, created_at);
