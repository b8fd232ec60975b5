-- The channel gateway: channels (one per bank service line), card agreements, channel orders
-- (our record of every request to a bank), anomalies seen on the wire, and the outbox.

create table channel.channel (
  id uuid primary key,
  code text not null unique,
  bank text not null,
  name text not null,
  services text[] not null,
  card_bins text[] not null,
  currency text not null default 'CNY',
  min_amount bigint not null check (min_amount > 0),
  max_amount bigint not null check (max_amount >= min_amount),
  -- What one request costs us: a rate in basis points of the amount plus a fixed part.
  cost_rate_bp integer not null check (cost_rate_bp >= 0),
  cost_fixed bigint not null check (cost_fixed >= 0),
  -- The operator's switch; the circuit breaker is separate and lives in each process.
  enabled boolean not null default true,
  switched_by text,
  switched_at timestamptz,
  created_at timestamptz not null default now()
);

-- The simulated banks' quick-pay lines. alpha is the cheaper one, so 6228 cards go there first.
insert into channel.channel (id, code, bank, name, services, card_bins, min_amount, max_amount, cost_rate_bp, cost_fixed) values
  ('01900000-0000-7000-8000-00000000a1fa', 'alpha-quickpay', 'alpha', 'Alpha Bank quick pay', '{sign,pay,refund,payout}', '{6222,6228}', 1, 5000000, 25, 10),
  ('01900000-0000-7000-8000-00000000be7a', 'beta-quickpay', 'beta', 'Beta Bank quick pay', '{sign,pay,refund,payout}', '{6217,6228}', 1, 5000000, 30, 10);

-- A bound card. The number itself is never stored: a keyed hash (to recognise it again), its
-- BIN and last four digits, and the bank's agreement number that payments use.
create table channel.card_agreement (
  id uuid primary key,
  member_ref text not null,
  bank text not null,
  channel_id uuid not null references channel.channel (id),
  card_hash text not null,
  card_bin text not null,
  last4 text not null,
  -- A card-network agreement (6228…) is valid at every bank that serves the card.
  network boolean not null,
  status text not null check (status in ('pending_verification', 'active', 'failed')),
  bank_sign_id text,
  agreement_no text,
  fail_reason text,
  created_at timestamptz not null default now(),
  verified_at timestamptz
);
create index card_agreement_member on channel.card_agreement (member_ref);

create table channel.channel_order (
  id uuid primary key,
  instruction_id text not null,
  service text not null check (service in ('pay', 'refund', 'payout')),
  channel_id uuid not null references channel.channel (id),
  bank text not null,
  agreement_id uuid references channel.card_agreement (id),
  original_order_id uuid references channel.channel_order (id),
  amount bigint not null check (amount > 0),
  currency text not null,
  -- processing: sent or about to be; unknown: the bank did not answer (queried until known).
  status text not null check (status in ('processing', 'unknown', 'success', 'failed')),
  send_state text not null default 'pending' check (send_state in ('pending', 'sent')),
  send_claimed_until timestamptz,
  -- Channels this order was moved away from because they certainly never received it.
  rerouted_from text[] not null default '{}',
  result_code text,
  result_message text,
  bank_ref text,
  resolved_by text check (resolved_by in ('reply', 'callback', 'query', 'gateway')),
  query_attempts integer not null default 0,
  next_query_at timestamptz,
  ctx jsonb not null,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  finished_at timestamptz,
  unique (instruction_id, service)
);
create index channel_order_open on channel.channel_order (next_query_at) where status in ('processing', 'unknown');
create index channel_order_unsent on channel.channel_order (send_claimed_until) where send_state = 'pending';
create index channel_order_finished on channel.channel_order (finished_at, id) where finished_at is not null;
create index channel_order_original on channel.channel_order (original_order_id) where original_order_id is not null;

-- What the wire showed that we refused to act on: forged callbacks, results contradicting a
-- final status, results for orders we do not know. Kept for operators and reconciliation.
create table channel.anomaly (
  id uuid primary key,
  bank text not null,
  order_id uuid,
  kind text not null check (kind in ('forged_callback', 'conflicting_result', 'unknown_order', 'amount_mismatch')),
  detail jsonb not null,
  created_at timestamptz not null default now()
);
create index anomaly_order on channel.anomaly (order_id);

-- The standard outbox (src/events): channel.order_succeeded / channel.order_failed, written in
-- the transaction that finishes the order; the events relay publishes it.
create table channel.outbox (
  seq bigint generated always as identity primary key,
  id uuid not null,
  type text not null,
  key text not null,
  payload jsonb not null,
  context jsonb not null,
  broadcast boolean not null default false,
  occurred_at timestamptz not null default now()
);
