-- The trade core: one table for every trade type (SYSTEM.md §3), each row a state machine whose
-- status changes are compare-and-set. Natural keys are unique per client in their namespace:
-- out_trade_no (instant, escrow), out_refund_no (refunds), out_biz_no (recharge, withdrawal,
-- transfer). Orders the platform creates itself (bounces, exception refunds) have none.

create table trade.trade_order (
  id uuid primary key,
  client_id uuid not null,
  kind text not null check (kind in ('instant', 'escrow', 'recharge', 'withdrawal', 'transfer', 'refund',
    'withdrawal_bounce', 'exception_refund', 'recharge_refund')),
  out_no_space text check (out_no_space in ('trade', 'refund', 'biz')),
  out_no text,
  request_hash text,
  status text not null,
  amount bigint not null check (amount > 0),
  currency text not null,
  paid_amount bigint not null default 0 check (paid_amount >= 0),
  refunded_amount bigint not null default 0 check (refunded_amount >= 0),
  -- buyer / paying member and seller / receiving member
  payer_id uuid,
  payee_id uuid,
  splits jsonb not null default '[]',
  subject text,
  memo text,
  scene text,
  notify_url text,
  card_id uuid,
  speed text check (speed in ('t0', 't1')),
  parent_id uuid,
  root_id uuid not null,
  payment_order_id uuid,
  -- exception refunds: the bank order whose money goes back
  channel_order_id uuid,
  -- automatic exception handling recorded on the trade: [{kind, amount, action, order_id, at}]
  exceptions jsonb not null default '[]',
  context jsonb not null,
  timeout_at timestamptz,
  confirm_due_at timestamptz,
  settle_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  paid_at timestamptz,
  finished_at timestamptz,
  closed_at timestamptz,
  -- refunds never exceed what was paid, whatever the code above does
  constraint refunded_within_paid check (refunded_amount <= paid_amount),
  constraint out_no_unique unique (client_id, out_no_space, out_no)
);
create index trade_order_timeout on trade.trade_order (timeout_at) where status = 'wait_pay';
create index trade_order_escrow_due on trade.trade_order (confirm_due_at) where kind = 'escrow' and status = 'success';
create index trade_order_parent on trade.trade_order (parent_id) where parent_id is not null;
create index trade_order_client_out on trade.trade_order (client_id, out_no);

create table trade.outbox (
  seq bigint generated always as identity primary key,
  id uuid not null,
  type text not null,
  key text not null,
  payload jsonb not null,
  context jsonb not null,
  broadcast boolean not null default false,
  occurred_at timestamptz not null default now()
);
