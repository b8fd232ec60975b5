/**
 * Retention of notification deliveries: finished ones (delivered, failed for good) older than
 * PAYCORE_NOTIFY_RETENTION_MS are purged with their tries, in bounded batches; pending ones stay,
 * however old; and the retention may not be shorter than the events' own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { ConfigError, loadConfig, newId } from '../../src/platform/index.js';
import type { NotifyDB } from '../../src/notify/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';

let platform: TestPlatform;
let db: Kysely<NotifyDB>;

before(async () => {
  platform = await startTestPlatform({ label: 'notifypurge' });
  db = platform.databases.get<NotifyDB>('notify');
});
after(async () => {
  await platform?.close();
});

async function delivery(status: 'pending' | 'delivered' | 'failed', ageDays: number): Promise<string> {
  const id = newId();
  await db
    .insertInto('notify.delivery')
    .values({ id, kind: 'merchant', client_id: 'c', event_id: newId(), event_type: 'trade.paid', url: 'http://127.0.0.1:9/', body: '{}', status, lease_until: null, last_http_status: null, last_error: null, delivered_at: null, created_at: sql`now() - ${ageDays} * interval '1 day'` })
    .execute();
  await db.insertInto('notify.attempt').values({ id: newId(), delivery_id: id, attempt: 1, started_at: new Date(), duration_ms: 5, http_status: 200, error: null }).execute();
  return id;
}

test('finished deliveries past the retention go with their tries, a bounded batch at a time; pending and recent ones stay', async () => {
  const oldDelivered = [await delivery('delivered', 40), await delivery('delivered', 39), await delivery('failed', 35)];
  const oldPending = await delivery('pending', 60);
  const recent = await delivery('delivered', 2);
  const repository = platform.runtime.notify.repository;
  const cutoff = new Date(Date.now() - 30 * 86_400_000);
  assert.equal(await repository.purgeFinished(cutoff, 2), true, 'a full batch says there may be more');
  assert.equal(await repository.purgeFinished(cutoff, 2), false);
  const left = (await db.selectFrom('notify.delivery').select('id').where('id', 'in', [...oldDelivered, oldPending, recent]).execute()).map((r) => r.id).sort();
  assert.deepEqual(left, [oldPending, recent].sort());
  const tries = await db.selectFrom('notify.attempt').select('delivery_id').where('delivery_id', 'in', oldDelivered).execute();
  assert.equal(tries.length, 0);
  assert.equal(await repository.purgeFinished(cutoff, 2), false);
});

test('the retention is 30 days by default and may not be shorter than the events retention', () => {
  assert.equal(loadConfig({}).notifyRetentionMs, 30 * 86_400_000);
  assert.throws(() => loadConfig({ PAYCORE_NOTIFY_RETENTION_MS: String(2 * 86_400_000), PAYCORE_EVENTS_RETENTION_MS: String(3 * 86_400_000) }), (e: unknown) => e instanceof ConfigError && /PAYCORE_NOTIFY_RETENTION_MS/.test(e.message));
  assert.equal(loadConfig({ PAYCORE_NOTIFY_RETENTION_MS: String(3 * 86_400_000), PAYCORE_EVENTS_RETENTION_MS: String(3 * 86_400_000) }).notifyRetentionMs, 3 * 86_400_000);
});
