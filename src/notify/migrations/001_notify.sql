-- Outgoing notifications (merchant notify_url POSTs, later the Alipay gateway's), their attempts,
-- and the processed-event record of the consumer that creates them.

create table notify.processed_event (
  consumer text not null,
  event_id uuid not null,
  handled_by text not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
create index processed_event_age on notify.processed_event (processed_at);

-- One row per notification: the body is fixed when it is created (the same id and bytes on every
-- try; only the signature's timestamp changes). A pending row with lease_until in the future is
-- being delivered; one whose lease ran out was cut off by a crash and is tried again.
create table notify.delivery (
  id uuid primary key,
  kind text not null,
  client_id text not null,
  event_id uuid not null,
  event_type text not null,
  url text not null,
  body text not null,
  status text not null check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  retry_index integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_until timestamptz,
  last_http_status integer,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  unique (kind, event_id, url)
);
create index delivery_due on notify.delivery (next_attempt_at) where status = 'pending';
create index delivery_client on notify.delivery (client_id, id);

create table notify.attempt (
  id uuid primary key,
  delivery_id uuid not null references notify.delivery (id),
  attempt integer not null,
  started_at timestamptz not null,
  duration_ms integer not null,
  http_status integer,
  error text
);
create index attempt_delivery on notify.attempt (delivery_id, attempt);
