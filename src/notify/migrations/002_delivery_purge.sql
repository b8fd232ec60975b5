-- Finished deliveries (delivered or failed for good) older than the retention are purged in
-- bounded batches, oldest first; this index finds them without reading the pending ones.
create index delivery_finished_age on notify.delivery (created_at) where status <> 'pending';
