-- Coupons and red packets (payment tools) and the TCC fence of the marketing participant.
-- A tool is written 'issuing', its money is posted (marketing -X, marketing-issued +X, keyed by the
-- tool id), then it turns 'available'; a crash in between is finished by the repair pass.
create table marketing.tool (
  id uuid primary key,
  client_id uuid not null,
  member_id uuid not null,
  kind text not null check (kind in ('coupon', 'red_packet')),
  amount bigint not null check (amount > 0),
  currency text not null,
  status text not null check (status in ('issuing', 'available', 'reserved', 'used', 'expired')),
  expires_at timestamptz,
  reserved_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index tool_member on marketing.tool (member_id, created_at);
create index tool_expiry on marketing.tool (expires_at) where status in ('available', 'issuing');
create index tool_issuing on marketing.tool (created_at) where status = 'issuing';
-- Expired tools whose money has not yet gone back to the marketing account.
create table marketing.expiry (
  tool_id uuid primary key references marketing.tool (id),
  returned boolean not null default false,
  created_at timestamptz not null default now()
);
create index expiry_pending on marketing.expiry (created_at) where not returned;

-- Seata's TCC fence: one row per (activity, tool), written in the same transaction as the tool's
-- status change. 'tried' by try; 'confirmed'/'cancelled' by the second phase. A cancel that finds
-- no row writes a 'cancelled' row (the empty cancel), which a late try then sees (the hanging try).
create table marketing.tcc_fence (
  activity text not null,
  tool_id uuid not null,
  status text not null check (status in ('tried', 'confirmed', 'cancelled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (activity, tool_id)
);
-- Finished rows are purged after a week: far longer than any activity can still send a late try.
create index tcc_fence_finished on marketing.tcc_fence (updated_at) where status <> 'tried';

create table marketing.outbox (
  seq bigint generated always as identity primary key,
  id uuid not null,
  type text not null,
  key text not null,
  payload jsonb not null,
  context jsonb not null,
  broadcast boolean not null default false,
  occurred_at timestamptz not null default now()
);
