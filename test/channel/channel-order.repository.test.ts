/** Channel orders in the database: one finish and one event per order, claims, reroute, backoff. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { Databases, newId, type Kysely } from '../../src/platform/index.js';
import { claimDueQueries, claimUnsent, finishOrder, insertOrder, markSent, markUnknown, reroute } from '../../src/channel/channel-order.repository.js';
import type { ChannelDB } from '../../src/channel/index.js';
import { createTestDatabase } from '../support/platform.js';

const alphaChannel = '01900000-0000-7000-8000-00000000a1fa';
const betaChannel = '01900000-0000-7000-8000-00000000be7a';
let dropDb: () => Promise<void>;
let databases: Databases;
let db: Kysely<ChannelDB>;

before(async () => {
  const created = await createTestDatabase('chrepo');
  dropDb = created.drop;
  databases = new Databases({ main: created.url, perSubsystem: {} }, 4);
  await databases.migrate();
  db = databases.get<ChannelDB>('channel');
});
after(async () => {
  await databases?.close();
  await dropDb?.();
});

const order = (instruction: string, claimed: Date | null = null) =>
  insertOrder(db, { id: newId(), instruction_id: instruction, service: 'pay', channel_id: alphaChannel, bank: 'alpha', agreement_id: null, original_order_id: null, amount: 1_050n, currency: 'CNY', send_claimed_until: claimed, ctx: JSON.stringify({ client: 'c', traceId: 'trace-1', institution: 'alpha' }) });

test('one order per (instruction, service); finishing is a compare-and-set with exactly one event', async () => {
  const row = await order('instr-1');
  assert.ok(row);
  assert.equal(await order('instr-1'), undefined, 'the same instruction and service again');
  const mismatch = await finishOrder(db, row.id, { status: 'success', resultCode: null, resultMessage: null, bankRef: 'R1', resolvedBy: 'callback' }, { bank: 'alpha', amount: 1_051n, currency: 'CNY' });
  assert.equal(mismatch, undefined, 'another amount does not finish it');
  const results = await Promise.all(
    (['success', 'failed', 'success'] as const).map((status) => finishOrder(db, row.id, { status, resultCode: status === 'failed' ? 'DECLINED' : null, resultMessage: null, bankRef: 'R1', resolvedBy: 'callback' }, { bank: 'alpha', amount: 1_050n, currency: 'CNY' })),
  );
  const winners = results.filter((r) => r !== undefined);
  assert.equal(winners.length, 1, 'concurrent results: one wins');
  const events = await db.selectFrom('channel.outbox').selectAll().where('key', '=', row.id).execute();
  assert.equal(events.length, 1);
  assert.equal(events[0]!.type, winners[0]!.status === 'success' ? 'channel.order_succeeded' : 'channel.order_failed');
  assert.deepEqual({ ...events[0]!.payload, finished_at: undefined }, {
    id: row.id, instruction_id: 'instr-1', service: 'pay', bank: 'alpha', channel_id: alphaChannel, amount: '1050', currency: 'CNY', status: winners[0]!.status,
    result_code: winners[0]!.result_code, bank_ref: 'R1', resolved_by: 'callback', finished_at: undefined,
  });
  assert.equal((events[0]!.context as { traceId: string }).traceId, 'trace-1');
  const { exact } = await sql<{ exact: boolean }>`select finished_at = date_trunc('milliseconds', finished_at) as exact from channel.channel_order where id = ${row.id}`.execute(db).then((r) => r.rows[0]!);
  assert.equal(exact, true, 'finished_at has millisecond precision, so a poller cursor (a JS Date) names the row exactly');
});

test('reroute moves only a never-sent order, once; markSent and markUnknown only act on pending sends', async () => {
  const row = (await order('instr-2'))!;
  assert.equal(await reroute(db, row.id, betaChannel, { id: alphaChannel, bank: 'alpha' }), false, 'wrong current channel');
  assert.equal(await reroute(db, row.id, alphaChannel, { id: betaChannel, bank: 'beta' }), true);
  assert.equal(await reroute(db, row.id, alphaChannel, { id: betaChannel, bank: 'beta' }), false, 'already moved');
  const moved = await db.selectFrom('channel.channel_order').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  assert.deepEqual([moved.bank, moved.channel_id, moved.rerouted_from, (moved.ctx as { institution: string }).institution], ['beta', betaChannel, [alphaChannel], 'beta']);
  await markUnknown(db, row.id, new Date(Date.now() - 1));
  assert.equal(await reroute(db, row.id, betaChannel, { id: alphaChannel, bank: 'alpha' }), false, 'a sent (unknown) order never moves');
  await markSent(db, row.id, 'X', new Date());
  const after = await db.selectFrom('channel.channel_order').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  assert.deepEqual([after.status, after.send_state, after.bank_ref], ['unknown', 'sent', null], 'markSent after markUnknown changes nothing');
});

test('due queries are claimed once each, with a doubling backoff up to the cap', async () => {
  const row = (await order('instr-3'))!;
  await markUnknown(db, row.id, new Date(Date.now() - 1_000));
  const claims = await Promise.all([claimDueQueries(db, 100, 100, 400), claimDueQueries(db, 100, 100, 400)]);
  assert.equal(claims.flat().filter((r) => r.id === row.id).length, 1, 'two workers: one claim');
  const gaps: number[] = [];
  for (let i = 0; i < 4; i += 1) {
    await db.updateTable('channel.channel_order').set({ next_query_at: sql<Date>`now() - interval '1 second'` }).where('id', '=', row.id).execute();
    const [claimed] = (await claimDueQueries(db, 100, 100, 400)).filter((r) => r.id === row.id);
    const { gap } = await sql<{ gap: number }>`select extract(epoch from (next_query_at - now())) * 1000 as gap from channel.channel_order where id = ${row.id}`.execute(db).then((r) => r.rows[0]!);
    gaps.push(Math.round(Number(gap) / 100) * 100);
    assert.equal(claimed!.query_attempts, i + 2);
  }
  assert.deepEqual(gaps, [400, 400, 400, 400].map((cap, i) => Math.min(cap, 100 * 2 ** (i + 1))));
});

test('unsent orders are claimed only once their claim expired', async () => {
  const fresh = (await order('instr-4', new Date(Date.now() + 60_000)))!;
  const stale = (await order('instr-5', new Date(Date.now() - 1)))!;
  const claimed = (await claimUnsent(db, 50, 5_000)).map((r) => r.id);
  assert.ok(claimed.includes(stale.id));
  assert.ok(!claimed.includes(fresh.id));
  assert.ok(!(await claimUnsent(db, 50, 5_000)).map((r) => r.id).includes(stale.id), 'claimed again only after its new claim expires');
});
