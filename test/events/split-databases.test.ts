/**
 * The vertical split: the emitter (trade), the events bus and notifications each in a database
 * of its own. The event is written in the emitter's own transaction, in its own database; the
 * relay carries it to the events database; the notify consumer's record and effect land in the
 * notify database; the merchant gets the POST.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { clientObjectPayload, emit, outboxTableSql } from '../../src/events/index.js';
import { newId, systemContext } from '../../src/platform/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { startReceiver, type Receiver } from '../notify/receiver.js';
import { fastEvents, waitFor } from './events-support.js';

let platform: TestPlatform;
let receiver: Receiver;
let trade: Kysely<unknown>;

before(async () => {
  platform = await startTestPlatform({ label: 'split', separate: ['events', 'notify'], config: { ...fastEvents, notifyIntervalMs: 20 } });
  receiver = await startReceiver();
  trade = platform.databases.get<unknown>('trade');
  const exists = await sql<{ t: string | null }>`select to_regclass('trade.outbox')::text as t`.execute(trade);
  if (!exists.rows[0]!.t) {
    await sql.raw('create schema if not exists trade').execute(trade);
    await sql.raw(outboxTableSql('trade')).execute(trade);
  }
  platform.runtime.events.registerOutbox('trade');
  platform.runtime.startWorkers();
});

after(async () => {
  await platform.close();
  await receiver.close();
});

test('trade → relay → events database → notify database → merchant', async () => {
  assert.equal(platform.databases.shareDatabase('trade', 'events'), false);
  assert.equal(platform.databases.shareDatabase('events', 'notify'), false);
  const client = await platform.runtime.clients.create({ name: 'split', notifyUrl: `${receiver.url}/split` });
  const tradeId = newId();
  const eventId = await trade.transaction().execute((trx) =>
    emit(trx, 'trade', {
      type: 'trade.paid',
      key: tradeId,
      payload: clientObjectPayload({ clientId: client.id, object: { id: tradeId, status: 'success', amount: 500n } }),
      context: systemContext('trace-split'),
    }),
  );
  await waitFor('the POST', async () => receiver.received.length === 1);
  assert.equal(JSON.parse(receiver.received[0]!.body).id, eventId);
  const message = await sql<{ source: string }>`select source from events.message where id = ${eventId}`.execute(platform.databases.get('events'));
  assert.equal(message.rows[0]!.source, 'trade');
  const processed = await sql<{ n: number }>`select count(*)::int as n from notify.processed_event where consumer = 'notify-merchant' and event_id = ${eventId}`.execute(platform.databases.get('notify'));
  assert.equal(processed.rows[0]!.n, 1);
  await waitFor('the outbox emptied', async () => {
    const left = await sql<{ n: number }>`select count(*)::int as n from trade.outbox`.execute(trade);
    return left.rows[0]!.n === 0;
  });
});
