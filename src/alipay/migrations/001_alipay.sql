-- Alipay-style apps: each is an API client of the access subsystem with two RSA keys: the
-- merchant's public key (verifies its requests) and the platform's key pair (signs our answers).
create table alipay.app (
  app_id text primary key,
  client_id uuid not null unique,
  name text not null,
  merchant_public_key text not null,
  platform_public_key text not null,
  platform_private_key text not null,
  -- The merchant member that receives this app's trades and pays its transfers (set once known).
  seller_member_id uuid,
  created_at timestamptz not null default now()
);

-- Trades created through the gateway: what Alipay needs that the trade core does not keep
-- (the app, the per-request notify_url, the product it came through).
create table alipay.trade_link (
  trade_id uuid primary key,
  app_id text not null references alipay.app (app_id),
  out_trade_no text not null,
  method text not null,
  subject text not null,
  notify_url text,
  created_at timestamptz not null default now(),
  unique (app_id, out_trade_no)
);
create index trade_link_day on alipay.trade_link (app_id, created_at);

-- Refunds asked through the gateway, by (trade, out_request_no).
create table alipay.refund_link (
  refund_id uuid primary key,
  trade_id uuid not null references alipay.trade_link (trade_id),
  out_request_no text not null,
  amount bigint not null check (amount > 0),
  created_at timestamptz not null default now(),
  unique (trade_id, out_request_no)
);

-- Transfers asked through the gateway, by (app, out_biz_no).
create table alipay.transfer_link (
  transfer_id uuid primary key,
  app_id text not null references alipay.app (app_id),
  out_biz_no text not null,
  amount bigint not null check (amount > 0),
  created_at timestamptz not null default now(),
  unique (app_id, out_biz_no)
);

-- precreate (QR) and page.pay orders: as at Alipay, the trade exists only once a buyer scans and
-- is known (the trade core needs its buyer). Until then the order lives here; trade_id once scanned.
create table alipay.pre_order (
  id uuid primary key,
  app_id text not null references alipay.app (app_id),
  out_trade_no text not null,
  method text not null,
  amount bigint not null check (amount > 0),
  subject text not null,
  notify_url text,
  timeout_seconds integer,
  status text not null check (status in ('waiting', 'closed')),
  trade_id uuid,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  unique (app_id, out_trade_no)
);
