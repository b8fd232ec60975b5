-- The trade-jobs worker looks for paid instant trades past their refund window every pass
-- (instant-finish.job.ts). Partial, so it stays as small as the set of refundable instant trades.
create index trade_order_instant_refundable on trade.trade_order (paid_at) where kind = 'instant' and status = 'success';
