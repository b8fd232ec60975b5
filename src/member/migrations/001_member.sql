-- Members of each API client, the ledger accounts they own, payment passwords, bound cards and
-- one-time payment codes. A member row is written first ('opening'), its ledger account is then
-- opened by a code derived from the member id (so a retry finds it), and the row turns 'active'.
create table member.member (
  id uuid primary key,
  client_id uuid not null,
  type text not null check (type in ('personal', 'merchant')),
  name text not null,
  external_id text,
  status text not null check (status in ('opening', 'active')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index member_client_external on member.member (client_id, external_id) where external_id is not null;
create index member_opening on member.member (created_at) where status = 'opening';

-- Which member (and so which client) a ledger account belongs to: the account routes' isolation.
create table member.account (
  id uuid primary key,
  member_id uuid not null references member.member (id),
  client_id uuid not null,
  currency text not null,
  created_at timestamptz not null default now(),
  unique (member_id, currency)
);

create table member.payment_password (
  member_id uuid primary key references member.member (id),
  hash text not null,
  failed_count integer not null default 0,
  locked_until timestamptz,
  updated_at timestamptz not null default now()
);

-- The card number itself is never stored: a keyed SHA-256 hash, the bank and the last four digits.
create table member.card (
  id uuid primary key,
  member_id uuid not null references member.member (id),
  client_id uuid not null,
  bank text not null,
  last4 text not null,
  card_hash text not null,
  sign_id text not null,
  agreement text,
  status text not null check (status in ('pending_verification', 'active', 'failed')),
  created_at timestamptz not null default now(),
  verified_at timestamptz
);
create index card_member on member.card (member_id, created_at);

-- One-time payment codes, by the SHA-256 of the code (a leaked table redeems nothing).
create table member.payment_code (
  code_hash text primary key,
  member_id uuid not null references member.member (id),
  client_id uuid not null,
  expires_at timestamptz not null,
  redeemed_at timestamptz,
  created_at timestamptz not null default now()
);
create index payment_code_expiry on member.payment_code (expires_at);

create table member.outbox (
  seq bigint generated always as identity primary key,
  id uuid not null,
  type text not null,
  key text not null,
  payload jsonb not null,
  context jsonb not null,
  broadcast boolean not null default false,
  occurred_at timestamptz not null default now()
);
