-- The funds side (SYSTEM.md §7): the general ledger built from the ledger's voucher feed, day
-- close, clearing, reconciliation and merchant settlement. Amounts are bigint minor units in the
-- ledger's sign convention: positive = credit, negative = debit.

create table funds.processed_event (
  consumer text not null,
  event_id uuid not null,
  handled_by text not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
create index processed_event_age on funds.processed_event (processed_at);

-- Each ledger account seen by the GL, with its subject (fixed when first seen).
create table funds.gl_account (
  account_id uuid primary key,
  type text not null,
  code text,
  owner text,
  currency text not null,
  subject text not null
);
create index gl_account_type on funds.gl_account (type);

-- The GL's copy of each ledger voucher. gl_date is the accounting day it counts in: the ledger's
-- date, or the first open day when that day was already closed.
create table funds.gl_voucher (
  voucher_id uuid primary key,
  ledger_seq bigint not null,
  source text not null,
  reference text not null,
  currency text not null,
  ledger_date date not null,
  gl_date date not null,
  balanced boolean not null,
  created_at timestamptz not null
);
create index gl_voucher_ref on funds.gl_voucher (source, reference);
create index gl_voucher_date on funds.gl_voucher (gl_date);

create table funds.gl_posting (
  voucher_id uuid not null,
  account_id uuid not null,
  subject text not null,
  currency text not null,
  gl_date date not null,
  amount bigint not null,
  primary key (voucher_id, account_id)
);
create index gl_posting_day on funds.gl_posting (gl_date, subject);
create index gl_posting_account on funds.gl_posting (account_id, gl_date);

-- Where the feed stands: vouchers with seq <= cursor are in; a gap after it is waited for from gap_since.
create table funds.gl_cursor (
  name text primary key,
  seq bigint not null,
  gap_seq bigint,
  gap_since timestamptz
);
insert into funds.gl_cursor (name, seq) values ('ledger', 0);

create table funds.day_close (
  date date primary key,
  closed_at timestamptz not null default now(),
  closed_by text not null,
  vouchers integer not null
);

-- A closed day's trial balance, per currency and subject; never changed once written.
create table funds.closed_balance (
  date date not null references funds.day_close (date),
  currency text not null,
  subject text not null,
  opening bigint not null,
  debits bigint not null,
  credits bigint not null,
  closing bigint not null,
  primary key (date, currency, subject)
);

-- Clearing: one row per successful channel order (a receivable from the bank, or for refunds and
-- payouts what we owe it), cleared by the bank's settlement or by an accepted correction.
create table funds.clearing_item (
  order_id uuid primary key,
  instruction_id text not null,
  bank text not null,
  service text not null check (service in ('pay', 'refund', 'payout')),
  amount bigint not null check (amount > 0),
  currency text not null,
  bank_ref text,
  finished_at timestamptz,
  status text not null default 'open' check (status in ('open', 'cleared', 'corrected')),
  cleared_by uuid,
  created_at timestamptz not null default now()
);
create index clearing_item_open on funds.clearing_item (bank, finished_at) where status = 'open';
create index clearing_item_instruction on funds.clearing_item (instruction_id);

-- One reconciliation of a bank's statement for a day; settlement posted once per run.
create table funds.recon_run (
  id uuid primary key,
  bank text not null,
  date date not null,
  file_name text not null,
  body_sha256 text not null,
  lines integer not null,
  matched integer not null,
  ours_only integer not null,
  theirs_only integer not null,
  amount_differs integer not null,
  settled_amount bigint not null,
  status text not null check (status in ('clearing', 'done')),
  settlement_voucher_id uuid,
  created_by text not null,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);
create index recon_run_day on funds.recon_run (bank, date);

-- The discrepancy queue (差错处理): one row per difference, with the correcting entries proposed.
create table funds.discrepancy (
  id uuid primary key,
  run_id uuid not null references funds.recon_run (id),
  bank text not null,
  date date not null,
  kind text not null check (kind in ('ours_only', 'theirs_only', 'amount_differs')),
  request_id text not null,
  service text not null,
  our_amount bigint,
  their_amount bigint,
  currency text not null,
  proposal jsonb not null,
  status text not null default 'open' check (status in ('open', 'accepted')),
  voucher_id uuid,
  accepted_by text,
  accepted_at timestamptz,
  created_at timestamptz not null default now(),
  unique (bank, date, kind, request_id)
);
create index discrepancy_status on funds.discrepancy (status, created_at);

-- Internal reconciliation: each paid trade, checked against its payment, channel order and vouchers.
create table funds.trade_check (
  trade_id text primary key,
  payment_id text,
  trade_type text,
  client_id text,
  seller_id text,
  buyer_id text,
  amount bigint not null,
  card_amount bigint not null default 0,
  bank text,
  currency text not null,
  paid_at timestamptz not null,
  status text not null default 'open' check (status in ('open', 'ok', 'gap')),
  missing text[] not null default '{}',
  checked_at timestamptz,
  flagged_at timestamptz
);
-- Open checks, and flagged gaps, which are re-checked until what was missing arrives.
create index trade_check_open on funds.trade_check (paid_at) where status in ('open', 'gap');
create index trade_check_day on funds.trade_check (seller_id, paid_at);

-- Merchant fee schedule in basis points; merchants without a row pay the configured default.
create table funds.fee_rate (
  merchant_id text primary key,
  rate_bp integer not null check (rate_bp >= 0 and rate_bp <= 10000),
  updated_at timestamptz not null default now()
);

-- One T+1 settlement per merchant account and trade day.
create table funds.merchant_settlement (
  account_id uuid not null,
  date date not null,
  merchant_id text not null,
  gross bigint not null check (gross > 0),
  rate_bp integer not null,
  fee bigint not null check (fee >= 0),
  net bigint not null,
  status text not null check (status in ('pending', 'posted', 'refused')),
  refusal text,
  voucher_id uuid,
  posted_date date,
  created_at timestamptz not null default now(),
  primary key (account_id, date)
);
