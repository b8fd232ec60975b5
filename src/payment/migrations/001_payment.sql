-- The payment core: payment orders (what a trade asked the core to do with money, as one of the
-- four basic kinds) and the TCC business activity log that drives them to an end after a crash.

create table payment.payment_order (
  id uuid primary key,
  client_id uuid not null,
  trade_id uuid not null,
  kind text not null check (kind in ('recharge', 'withdraw', 'refund', 'transfer')),
  business text not null,
  amount bigint not null check (amount > 0),
  currency text not null,
  -- the parts each payment tool paid: [{tool, amount, reference?, institution?}], amounts as strings
  methods jsonb not null default '[]',
  status text not null check (status in ('processing', 'success', 'failed')),
  -- how it ran: one local transaction, full TCC, or a single posting
  tcc text not null check (tcc in ('one_phase', 'two_phase')),
  channel_order_id uuid,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);
create index payment_order_trade on payment.payment_order (trade_id);

-- One row per two-phase activity (its id is the payment order's). The plan holds the
-- participants (ledger hold, marketing tools, channel operation) and the confirm vouchers, so
-- recovery can finish the activity from this row alone.
create table payment.activity (
  id uuid primary key,
  business text not null,
  business_ref uuid not null,
  status text not null check (status in ('trying', 'awaiting_channel', 'confirming', 'cancelling', 'confirmed', 'cancelled')),
  plan jsonb not null,
  -- channel operation: its order, the bank that serves it and its last known state
  channel_order_id uuid,
  channel_bank text,
  channel_state text check (channel_state in ('pending', 'success', 'failed', 'settled')),
  channel_due_at timestamptz,
  cancel_reason text,
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index activity_open on payment.activity (updated_at) where status in ('trying', 'awaiting_channel', 'confirming', 'cancelling');
create index activity_channel_watch on payment.activity (updated_at) where channel_state = 'pending';

-- Append-only: every phase an activity went through, for the console and for audits.
create table payment.activity_log (
  id bigint generated always as identity primary key,
  activity_id uuid not null,
  phase text not null,
  detail text,
  at timestamptz not null default now()
);
create index activity_log_activity on payment.activity_log (activity_id);

create table payment.outbox (
  seq bigint generated always as identity primary key,
  id uuid not null,
  type text not null,
  key text not null,
  payload jsonb not null,
  context jsonb not null,
  broadcast boolean not null default false,
  occurred_at timestamptz not null default now()
);
