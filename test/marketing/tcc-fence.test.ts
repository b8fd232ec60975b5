/**
 * The marketing TCC participant's fence on a real database: try/confirm, try/cancel, the empty
 * cancel's tombstone refusing a hanging try, repeated confirm and cancel doing nothing, manager bugs
 * refused, concurrent tries on one coupon (one wins), a try racing its own cancel, and the one-phase
 * path inside a caller's transaction (committed and rolled back).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, createLogger, newId } from '../../src/platform/index.js';
import { MarketingService, type MarketingDB, type PaymentTool } from '../../src/marketing/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { assertLedgerCheck, call, createMember } from '../member/member-support.js';

let platform: TestPlatform;
let client: { id: string; apiKey: string };
let member: Record<string, any>;

before(async () => {
  platform = await startTestPlatform({ label: 'tccfence' });
  client = await platform.newClient('client-a');
  member = await createMember(platform, client.apiKey);
});
after(async () => {
  await assertLedgerCheck(platform);
  await platform.close();
});

const db = () => platform.databases.get<MarketingDB>('marketing');
const m = () => platform.runtime.marketing;

async function coupon(amount = 100): Promise<PaymentTool> {
  const reply = await call(platform, client.apiKey, 'POST', '/v1/coupons', { member_id: member.id, amount, expires_at: new Date(Date.now() + 86_400_000).toISOString() });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return (await m().get(client.id, reply.body.id))!;
}

async function fenceOf(activity: string, toolId: string): Promise<string | undefined> {
  const row = await db().selectFrom('marketing.tcc_fence').select('status').where('activity', '=', activity).where('tool_id', '=', toolId).executeTakeFirst();
  return row?.status;
}

const show = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
const input = (activity: string, toolId: string) => ({ activity, toolId, memberId: member.id as string, clientId: client.id });
const status = async (id: string) => (await m().get(client.id, id))?.status;

test('try reserves, confirm uses; repeated try and confirm change nothing; cancel after confirm is refused', async () => {
  const tool = await coupon(150);
  const act = `a-${newId()}`;
  assert.deepEqual(await m().tryReserve(input(act, tool.id)), { ok: true, amount: 150n });
  assert.equal(await status(tool.id), 'reserved');
  assert.equal(await fenceOf(act, tool.id), 'tried');
  assert.deepEqual(await m().tryReserve(input(act, tool.id)), { ok: true, amount: 150n }, 'a repeated try answers the same');
  await m().confirm(act, tool.id);
  assert.equal(await status(tool.id), 'used');
  assert.equal(await fenceOf(act, tool.id), 'confirmed');
  await m().confirm(act, tool.id);
  assert.equal(await status(tool.id), 'used');
  await assert.rejects(m().cancel(act, tool.id), /cancel after confirm/);
  assert.equal(await status(tool.id), 'used');
  assert.deepEqual(await m().tryReserve(input(`b-${newId()}`, tool.id)), { ok: false, reason: 'not_available' });
  await m().cancel(`b-never-${newId()}`, tool.id);
  await settle(tool);
});

test('try then cancel gives the tool back; repeated cancel does nothing; a later activity may use it', async () => {
  const tool = await coupon();
  const act = `c-${newId()}`;
  assert.ok((await m().tryReserve(input(act, tool.id))).ok);
  await m().cancel(act, tool.id);
  assert.equal(await status(tool.id), 'available');
  assert.equal(await fenceOf(act, tool.id), 'cancelled');
  await m().cancel(act, tool.id);
  assert.equal(await status(tool.id), 'available');
  assert.deepEqual(await m().tryReserve(input(act, tool.id)), { ok: false, reason: 'cancelled' }, 'the same activity cannot try again');
  await assert.rejects(m().confirm(act, tool.id), /confirm after cancel/);
  const next = `d-${newId()}`;
  assert.ok((await m().tryReserve(input(next, tool.id))).ok);
  await m().confirm(next, tool.id);
  assert.equal(await status(tool.id), 'used');
  await settle(tool);
});

test('empty cancel leaves a tombstone; the hanging try after it is refused and reserves nothing', async () => {
  const tool = await coupon();
  const act = `e-${newId()}`;
  await m().cancel(act, tool.id);
  assert.equal(await fenceOf(act, tool.id), 'cancelled');
  assert.equal(await status(tool.id), 'available');
  assert.deepEqual(await m().tryReserve(input(act, tool.id)), { ok: false, reason: 'cancelled' });
  assert.equal(await status(tool.id), 'available');
  await m().cancel(act, tool.id);
  // An empty cancel of a tool that does not exist at all is fine too.
  await m().cancel(act, newId());
  await m().cancel(act, 'not-a-uuid');
});

test('a failed try (another member, unknown tool) leaves nothing reserved; its cancel is harmless; confirming it is refused', async () => {
  const tool = await coupon();
  const stranger = await createMember(platform, client.apiKey);
  const act = `f-${newId()}`;
  assert.deepEqual(await m().tryReserve({ ...input(act, tool.id), memberId: stranger.id }), { ok: false, reason: 'not_found' });
  assert.deepEqual(await m().tryReserve({ ...input(act, tool.id), clientId: newId() }), { ok: false, reason: 'not_found' });
  assert.deepEqual(await m().tryReserve(input(act, newId())), { ok: false, reason: 'not_found' });
  assert.equal(await status(tool.id), 'available');
  await assert.rejects(m().confirm(act, tool.id), /reserved nothing/);
  await m().cancel(act, tool.id);
  assert.equal(await status(tool.id), 'available');
  await assert.rejects(m().confirm(`g-${newId()}`, tool.id), /confirm without try/);
});

test('30 activities try one coupon at once: exactly one reserves it', async () => {
  const tool = await coupon(300);
  const acts = Array.from({ length: 30 }, (_, i) => `race-${i}-${newId()}`);
  const results = await Promise.all(acts.map((act) => m().tryReserve(input(act, tool.id))));
  const winners = acts.filter((_, i) => results[i]!.ok);
  assert.equal(winners.length, 1, show(results));
  assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'not_available'));
  // Every loser cancels (as the manager would); the winner confirms.
  await Promise.all(acts.filter((act) => act !== winners[0]).map((act) => m().cancel(act, tool.id)));
  assert.equal(await status(tool.id), 'reserved');
  await m().confirm(winners[0]!, tool.id);
  assert.equal(await status(tool.id), 'used');
  await settle(tool);
});

test('a try racing its own cancel: either the try is refused or the cancel gives the tool back', async () => {
  for (let round = 0; round < 20; round += 1) {
    const tool = await coupon(10);
    const act = `r-${newId()}`;
    const [tried] = await Promise.all([m().tryReserve(input(act, tool.id)), m().cancel(act, tool.id)]);
    // Whatever the order, the cancel is final: the tool is available and the fence cancelled.
    assert.equal(await fenceOf(act, tool.id), 'cancelled');
    assert.equal(await status(tool.id), 'available', `round ${round}: ${show(tried)}`);
    if (!tried.ok) assert.equal(tried.reason, 'cancelled');
  }
});

test('one-phase: the participant inside a caller transaction commits with it, or rolls back with it', async () => {
  const tool = await coupon(40);
  const act = `t-${newId()}`;
  await assert.rejects(
    db()
      .transaction()
      .execute(async (trx) => {
        const tcc = m().inTransaction(trx);
        assert.deepEqual(await tcc.tryReserve(input(act, tool.id)), { ok: true, amount: 40n });
        await tcc.confirm(act, tool.id);
        throw new Error('the caller fails after confirm');
      }),
    /the caller fails/,
  );
  assert.equal(await status(tool.id), 'available', 'rolled back with the caller');
  assert.equal(await fenceOf(act, tool.id), undefined);
  await db()
    .transaction()
    .execute(async (trx) => {
      const tcc = m().inTransaction(trx);
      assert.ok((await tcc.tryReserve(input(act, tool.id))).ok);
      await tcc.confirm(act, tool.id);
      await tcc.confirm(act, tool.id);
    });
  assert.equal(await status(tool.id), 'used');
  assert.equal(await fenceOf(act, tool.id), 'confirmed');
  await settle(tool);
});

/** A used tool's money leaves marketing-issued when the payment core pays with it; the test does it. */
async function settle(tool: PaymentTool): Promise<void> {
  const issued = await m().issuedAccountId();
  const posted = await platform.runtime.ledger.post({ source: 'test.pay', reference: tool.id, currency: 'CNY', entries: [{ accountId: issued, amount: -tool.amount }, { accountId: member.account_id, amount: tool.amount }] });
  assert.ok(posted.ok);
}

test('finished fence rows are purged after the retention; an open (tried) one stays', async () => {
  const open = await coupon(5);
  const openAct = `open-${newId()}`;
  assert.ok((await m().tryReserve(input(openAct, open.id))).ok);
  const clock = new ManualClock(new Date(Date.now() + 8 * 86_400_000));
  const later = new MarketingService({ db: db(), ledger: platform.runtime.ledger, members: platform.runtime.members, clock, logger: createLogger('silent'), options: MarketingService.optionsFrom(platform.config) });
  const finished = await db().selectFrom('marketing.tcc_fence').select((eb) => eb.fn.countAll<bigint>().as('n')).where('status', '<>', 'tried').executeTakeFirstOrThrow();
  assert.ok(finished.n > 0n);
  assert.equal(await m().purgeFences(), 0, 'nothing is old enough yet');
  assert.equal(BigInt(await later.purgeFences()), finished.n);
  const left = await db().selectFrom('marketing.tcc_fence').select(['status', 'activity']).execute();
  assert.ok(left.every((row) => row.status === 'tried'));
  assert.ok(left.some((row) => row.activity === openAct));
  await m().cancel(openAct, open.id);
  assert.equal(await status(open.id), 'available');
});
