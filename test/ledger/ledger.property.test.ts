/**
 * Property: whatever random mix of postings, freezes, posts from holds, releases, reversals and
 * repeats runs concurrently (over two engines, as two processes would), every invariant of the
 * check holds, every acknowledged voucher is in the database exactly once, and running every
 * acknowledged operation again answers the first result and changes nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Ledger, PostResult } from '../../src/ledger/index.js';
import { open, startLedger, type LedgerFixture } from './ledger-support.js';

let fixture: LedgerFixture;
let engines: Ledger[];

before(async () => {
  fixture = await startLedger('prop', { foldIntervalMs: 5 });
  engines = [fixture.ledger, fixture.another({ flushers: 2 })];
});
after(async () => {
  await fixture?.close();
});

type Op =
  | { kind: 'post'; from: number; to: number; amount: number }
  | { kind: 'freeze'; account: number; hold: number; amount: number }
  | { kind: 'fromHold'; hold: number; to: number; amount: number; complete: boolean }
  | { kind: 'release'; hold: number }
  | { kind: 'reverse'; target: number }
  | { kind: 'repeat'; target: number };

const accountCount = 6; // 0 bank (no floor), 1-3 members, 4 buffered merchant, 5 sub-accounts merchant
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('post' as const), from: fc.nat(accountCount - 1), to: fc.nat(accountCount - 1), amount: fc.integer({ min: 1, max: 400 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('freeze' as const), account: fc.nat(accountCount - 1), hold: fc.nat(5), amount: fc.integer({ min: 1, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fromHold' as const), hold: fc.nat(5), to: fc.nat(accountCount - 1), amount: fc.integer({ min: 1, max: 200 }), complete: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), hold: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reverse' as const), target: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), target: fc.nat(40) }) },
);

interface Issued {
  readonly run: () => Promise<unknown>;
  result?: unknown;
  voucher?: string;
}

function keyed(result: unknown): string {
  return JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

async function snapshot(ids: string[]): Promise<string> {
  const balances = await Promise.all(ids.map((id) => engines[0]!.balance(id)));
  const counts = await fixture.pool.query(
    `select (select count(*) from ledger.voucher) as v, (select count(*) from ledger.entry) + (select count(*) from ledger.pending_entry) as e,
            (select count(*) from ledger.hold) as h, (select coalesce(sum(remaining), 0) from ledger.hold) as r`,
  );
  return keyed({ balances, counts: counts.rows[0] });
}

test('random concurrent ledger operations keep every invariant; repeats change nothing', async () => {
  let runNo = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 10 }), async (ops, chunks) => {
      runNo += 1;
      const run = `r${runNo}-${Date.now()}`;
      const ledger = engines[0]!;
      const ids = [
        await open(ledger, { type: 'internal', currency: 'CNY' }),
        await open(ledger, { type: 'member', currency: 'CNY' }),
        await open(ledger, { type: 'member', currency: 'CNY' }),
        await open(ledger, { type: 'member', currency: 'CNY', floor: -200n }),
        await open(ledger, { type: 'merchant', currency: 'CNY', hot: 'buffered' }),
        await open(ledger, { type: 'merchant', currency: 'CNY', hot: 'sub_accounts', subCount: 3 }),
      ];
      for (const id of ids.slice(1)) {
        const r = await ledger.post({ source: 'fund', reference: `${run}-${id}`, currency: 'CNY', entries: [{ accountId: ids[0]!, amount: -500n }, { accountId: id, amount: 500n }] });
        assert.ok(r.ok);
      }
      const issued: Issued[] = [];
      const holdKey = (hold: number) => ({ source: 'prop', reference: `${run}-hold-${hold}` });
      ops.forEach((op, i) => {
        const engine = engines[i % 2]!;
        const reference = `${run}-op-${i}`;
        switch (op.kind) {
          case 'post':
            if (op.from === op.to) return;
            issued.push({ run: () => engine.post({ source: 'prop', reference, currency: 'CNY', entries: [{ accountId: ids[op.from]!, amount: -BigInt(op.amount) }, { accountId: ids[op.to]!, amount: BigInt(op.amount) }] }) });
            return;
          case 'freeze':
            issued.push({ run: () => engine.freeze({ ...holdKey(op.hold), accountId: ids[op.account]!, currency: 'CNY', amount: BigInt(op.amount) }) });
            return;
          case 'fromHold':
            issued.push({ run: () => engine.postFromHold({ hold: holdKey(op.hold), source: 'prop', reference, currency: 'CNY', to: [{ accountId: ids[op.to]!, amount: BigInt(op.amount) }], complete: op.complete }) });
            return;
          case 'release':
            issued.push({ run: () => engine.release(holdKey(op.hold)) });
            return;
          case 'reverse': {
            const target = issued[op.target % Math.max(issued.length, 1)];
            if (!target) return;
            issued.push({
              run: async () => {
                const earlier = target.result as PostResult | undefined;
                return earlier?.ok && earlier.voucherId ? engine.reverse(earlier.voucherId, { source: 'prop', reference }) : { skipped: true };
              },
            });
            return;
          }
          case 'repeat': {
            const target = issued[op.target % Math.max(issued.length, 1)];
            if (target) issued.push({ run: target.run });
            return;
          }
        }
      });
      // Concurrent chunks, one after another.
      let at = 0;
      for (let c = 0; at < issued.length; c += 1) {
        const size = chunks[c % chunks.length]!;
        const chunk = issued.slice(at, at + size);
        await Promise.all(chunk.map(async (item) => (item.result = await item.run())));
        at += size;
      }
      // Every acknowledged voucher is there, once.
      for (const item of issued) {
        const result = item.result as { ok?: boolean; voucherId?: string } | undefined;
        if (result?.ok && result.voucherId) {
          const found = await fixture.pool.query('select count(*) as n from ledger.voucher where id = $1', [result.voucherId]);
          assert.equal(Number(found.rows[0].n), 1);
        }
      }
      const report = await ledger.check();
      assert.equal(report.balanced, true, keyed(report));
      const before = await snapshot(ids);
      // Repeats of everything acknowledged, concurrently: the first results again, and nothing changes.
      // (A refusal is not recorded, so its repeat is a new attempt and is not replayed here.)
      const acknowledged = issued.filter((item) => (item.result as { ok?: boolean } | undefined)?.ok === true);
      await Promise.all(
        acknowledged.map(async (item) => {
          const first = item.result as { voucherId?: string; holdId?: string };
          const again = (await item.run()) as { ok: boolean; replayed?: boolean; voucherId?: string; holdId?: string };
          assert.equal(again.ok, true, keyed({ first, again }));
          assert.equal(again.replayed, true, keyed({ first, again }));
          assert.equal(again.voucherId ?? again.holdId, first.voucherId ?? first.holdId);
        }),
      );
      assert.equal(await snapshot(ids), before);
      while ((await ledger.fold()) > 0);
      const after = await ledger.check();
      assert.equal(after.balanced, true, keyed(after));
      assert.equal(after.buffered_entries, 0);
    }),
    { numRuns: 25, interruptAfterTimeLimit: 40_000 },
  );
});
