-- The trade jobs look for open internal orders every pass: exception refunds not yet started and
-- refund reservations whose process died. Partial, so they stay as small as the open set.
create index trade_order_open_refunds on trade.trade_order (created_at)
  where status = 'processing' and kind in ('refund', 'recharge_refund', 'exception_refund');
