-- The double-entry ledger (SYSTEM.md §6). Sign convention: an entry's amount is signed and a
-- positive amount increases the account's balance; a voucher's entries sum to zero, so all
-- balances of one currency sum to zero (asset-like accounts, e.g. a bank clearing account,
-- carry negative balances and have no floor).

create table ledger.account (
  id uuid primary key,
  type text not null check (type in ('member', 'merchant', 'internal', 'platform')),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  code text unique,
  owner text,
  -- Minimum of posted - frozen; null = no floor (asset-like and clearing accounts).
  floor bigint,
  -- For 'buffered' accounts, posted excludes the not yet folded ledger.pending_entry rows; for
  -- 'sub_accounts' accounts it stays 0 and the balance lives in ledger.sub_account.
  posted bigint not null default 0,
  frozen bigint not null default 0 check (frozen >= 0),
  hot text not null default 'none' check (hot in ('none', 'buffered', 'sub_accounts')),
  sub_count integer not null default 0 check (sub_count >= 0 and sub_count <= 64),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((hot = 'sub_accounts') = (sub_count > 0))
) with (fillfactor = 70); -- room for HOT updates: balances change on every posting

-- One logical account spread over N rows. Slot 0 carries the account's floor (an overdraft),
-- every other slot has floor 0 when the account has a floor, so the sum never goes below it.
create table ledger.sub_account (
  account_id uuid not null references ledger.account (id),
  slot integer not null,
  posted bigint not null default 0,
  frozen bigint not null default 0 check (frozen >= 0),
  primary key (account_id, slot)
) with (fillfactor = 50);

create table ledger.voucher (
  id uuid primary key,
  seq bigserial not null,
  source text not null,
  reference text not null,
  content_hash text not null,
  currency text not null,
  memo text,
  accounting_date date not null,
  reversal_of uuid references ledger.voucher (id),
  hold_id uuid,
  created_at timestamptz not null default now(),
  unique (source, reference)
);
-- A voucher is reversed at most once.
create unique index voucher_reversal_of on ledger.voucher (reversal_of) where reversal_of is not null;

-- Immutable: never updated or deleted. balance_after is the account's balance after this entry
-- (for a sub_accounts account: the slot's balance after it).
-- Keyed by (account, id): the statement's order and the only index besides voucher_id, so an
-- entry costs two index insertions.
create table ledger.entry (
  id bigserial not null,
  voucher_id uuid not null,
  account_id uuid not null,
  slot integer,
  amount bigint not null check (amount <> 0),
  balance_after bigint not null,
  accounting_date date not null,
  created_at timestamptz not null default now(),
  primary key (account_id, id)
);
create index entry_voucher on ledger.entry (voucher_id);

-- Entries on 'buffered' hot accounts, written without locking the account row; the folder moves
-- them into ledger.entry (with balance_after) and into the account's posted balance in batches.
create table ledger.pending_entry (
  id bigserial not null,
  voucher_id uuid not null,
  account_id uuid not null,
  amount bigint not null check (amount <> 0),
  accounting_date date not null,
  created_at timestamptz not null default now(),
  primary key (account_id, id)
) with (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);

-- Holds (freezes). 'cancelled_before_try' is the TCC fence's tombstone: a release that came
-- before its freeze, so that the late freeze is refused (empty cancel / hanging protection).
create table ledger.hold (
  id uuid primary key,
  source text not null,
  reference text not null,
  content_hash text not null,
  account_id uuid references ledger.account (id),
  slot integer,
  amount bigint not null check (amount >= 0),
  remaining bigint not null check (remaining >= 0 and remaining <= amount),
  status text not null check (status in ('held', 'posted', 'released', 'cancelled_before_try')),
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (source, reference)
);
create index hold_expiry on ledger.hold (expires_at) where status = 'held';

-- Daily balances of closed accounting days, kept once computed (from entries; see
-- balance.repository.ts).
create table ledger.daily_balance (
  account_id uuid not null references ledger.account (id),
  date date not null,
  opening bigint not null,
  debits bigint not null,
  credits bigint not null,
  closing bigint not null,
  primary key (account_id, date)
);
