-- Risk: per-client overrides of the default limits, a blacklist, and the usage that daily limits sum.
create table risk.client_limit (
  client_id uuid not null,
  tool text not null,
  single_limit bigint,
  daily_limit bigint,
  password_threshold bigint,
  updated_at timestamptz not null default now(),
  primary key (client_id, tool)
);

create table risk.blacklist (
  member_id uuid primary key,
  reason text not null,
  created_at timestamptz not null default now()
);

-- One row per recorded use, keyed by its reference so a repeat records nothing.
create table risk.usage (
  reference text primary key,
  member_id uuid not null,
  tool text not null,
  day text not null, -- UTC accounting day, YYYY-MM-DD (as the ledger counts days)
  amount bigint not null check (amount > 0),
  created_at timestamptz not null default now()
);
create index usage_member_day on risk.usage (member_id, tool, day);
