-- API clients (one per business system), their hashed keys, operators and the idempotency store.
create table access.client (
  id uuid primary key,
  name text not null,
  notify_secret text not null,
  notify_url text,
  rate_limit_per_second integer,
  rate_limit_concurrency integer,
  created_at timestamptz not null default now()
);

create table access.api_key (
  id uuid primary key,
  client_id uuid not null references access.client (id),
  key_hash text not null unique,
  key_prefix text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

create table access.operator (
  id uuid primary key,
  name text not null unique,
  role text not null check (role in ('viewer', 'operator', 'admin')),
  password_hash text not null,
  token_hash text not null unique,
  created_at timestamptz not null default now()
);

-- One row per (client, Idempotency-Key). A row in state 'started' whose lock has expired may be
-- taken over: the request behind it died before it stored its answer.
create table access.idempotency_key (
  client_id uuid not null,
  key text not null,
  request_hash text not null,
  state text not null check (state in ('started', 'done')),
  locked_until timestamptz not null,
  response_status integer,
  response_body text,
  created_at timestamptz not null default now(),
  primary key (client_id, key)
);
