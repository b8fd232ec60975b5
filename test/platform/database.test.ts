/**
 * The pool's clients prepare Kysely's parameterised statements once per connection (by name), and
 * a prepared select that a schema change broke runs again unnamed instead of failing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type pg from 'pg';
import { createKysely, createPool, type Kysely } from '../../src/platform/index.js';
import { createTestDatabase } from '../support/platform.js';

interface DB {
  item: { id: number; label: string; extra?: string };
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let db: Kysely<DB>;

before(async () => {
  database = await createTestDatabase('prepared');
  pool = createPool(database.url, { max: 1 });
  db = createKysely<DB>(pool);
  await sql`create table item (id integer primary key, label text not null)`.execute(db);
  await db.insertInto('item').values([{ id: 1, label: 'one' }, { id: 2, label: 'two' }]).execute();
});
after(async () => {
  await db?.destroy();
  await database?.drop();
});

test('parameterised statements are prepared once per connection and give the same answers', async () => {
  for (let i = 0; i < 3; i += 1) {
    assert.deepEqual(await db.selectFrom('item').selectAll().where('id', '=', 2).execute(), [{ id: 2, label: 'two' }]);
  }
  const prepared = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements where statement like ${'select * from "item"%'}`.execute(db);
  assert.equal(prepared.rows[0]!.n, 1, 'the select was prepared on the (only) connection, once');
});

test('a prepared select broken by a schema change runs again unnamed', async () => {
  assert.equal((await db.selectFrom('item').selectAll().where('id', '=', 1).execute()).length, 1);
  await sql`alter table item add column extra text`.execute(db);
  const rows = await db.selectFrom('item').selectAll().where('id', '=', 1).execute();
  assert.deepEqual(rows, [{ id: 1, label: 'one', extra: null }]);
  assert.deepEqual(await db.selectFrom('item').selectAll().where('id', '=', 1).execute(), [{ id: 1, label: 'one', extra: null }]);
});
