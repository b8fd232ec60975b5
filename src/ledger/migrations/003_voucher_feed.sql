-- The change feed (vouchersAfter) reads vouchers in seq order from a follower's cursor.
create index voucher_seq on ledger.voucher (seq);
