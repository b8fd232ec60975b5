/**
 * A bank going dark under load: new payments for cards both banks serve (6228…) move to the
 * other bank within the breaker window, and come back after the bank recovers (half-open probes).
 * Orders left unknown at the dark bank are never re-sent elsewhere: they are queried until known.
 * A bank that refuses connections (process gone) makes the same order move, because it certainly
 * never received it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChannelOrder } from '../../src/channel/index.js';
import { ctx, eventually, startHarness, type Harness } from './channel-harness.js';

let h: Harness;
before(async () => {
  h = await startHarness('failover', { callTimeoutMs: 800, breakerTimeoutsToOpen: 3, breakerWindowMs: 5_000, breakerOpenMs: 1_000, breakerProbesToClose: 2, notFoundFailAfterMs: 1_000 });
});
after(async () => {
  await h?.close();
});

interface Sent {
  readonly order: ChannelOrder;
  readonly at: number;
}

test('alpha goes dark under load: traffic moves to beta within the window and back after recovery', { timeout: 60_000 }, async (t) => {
  const gateway = h.platform.runtime.channel;
  const agreements = [await h.bindCard('6228000010010000'), await h.bindCard('6228000010020000'), await h.bindCard('6228000010030000')];
  const sent: Sent[] = [];
  let running = true;
  let n = 0;
  t.after(async () => {
    running = false;
    await h.sims.alpha.behaviour({ down: false }); // whatever happened, the next test finds alpha up
  });
  // Three payers, each paying again as soon as its voucher is back (plus 10 ms).
  const payer = async () => {
    while (running) {
      n += 1;
      const paid = await gateway.pay({ instructionId: `load-${n}`, agreementId: agreements[n % agreements.length]!, amount: 1_000n + BigInt(n), ctx });
      if (paid.ok) sent.push({ order: paid.order, at: Date.now() });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const load = Promise.all([payer(), payer(), payer()]);
  const banksAfter = (t: number) => sent.filter((s) => s.at >= t).map((s) => s.order.bank);

  await eventually('alpha carries the traffic', async () => banksAfter(0).filter((b) => b === 'alpha').length >= 10);
  assert.ok(banksAfter(0).every((b) => b === 'alpha'), 'the cheaper bank takes everything while healthy');

  await h.sims.alpha.behaviour({ down: true });
  const darkAt = Date.now();
  const firstBeta = await eventually('traffic on beta', async () => sent.find((s) => s.at >= darkAt && s.order.bank === 'beta'), 5_000);
  const movedMs = firstBeta.at - darkAt;
  assert.ok(movedMs < 5_000, `moved within the 5 s window (took ${movedMs} ms)`);
  // The first payments may leave alpha before its circuit opens (its success rate falls out of the
  // best band); once the circuit is open, nothing goes to alpha while it is dark: half-open lets
  // probes through, never payments.
  const alphaState = async () => (await gateway.listChannels()).find((c) => c.bank === 'alpha')?.live.state;
  await eventually('alpha circuit open', async () => (await alphaState()) !== 'closed', 5_000);
  const openAt = Date.now();
  const routedAfterOpen = () => sent.filter((s) => s.order.createdAt.getTime() > openAt);
  await eventually('more traffic after the circuit opened', async () => routedAfterOpen().length >= 8, 5_000);
  assert.ok(
    routedAfterOpen().every((s) => s.order.bank === 'beta'),
    `while alpha is dark every new payment goes to beta: ${JSON.stringify(sent.filter((s) => s.at >= darkAt).map((s) => [s.order.createdAt.getTime() - darkAt, s.order.bank]))}`,
  );

  await h.sims.alpha.behaviour({ down: false });
  const upAt = Date.now();
  const firstBack = await eventually('traffic back on alpha', async () => sent.find((s) => s.at >= upAt && s.order.bank === 'alpha'), 8_000);
  running = false;
  await load;
  process.stdout.write(`# dark → first payment on beta: ${movedMs} ms; recovered → first payment back on alpha: ${firstBack.at - upAt} ms; ${sent.length} payments\n`);

  // Every order ends known; none was ever at both banks.
  const finals = await Promise.all(sent.map((s) => h.waitFinal(s.order.id, 15_000)));
  let stranded = 0;
  for (const order of finals) {
    const other = order.bank === 'alpha' ? h.sims.beta : h.sims.alpha;
    assert.equal(await other.txn(order.id), undefined, `order ${order.id} at ${order.bank} was never sent to the other bank`);
    assert.equal(order.reroutedFrom.length, 0);
    if (order.status === 'success') continue;
    // Sent to alpha while it was dark: unknown, queried until alpha answered "no such request".
    stranded += 1;
    assert.deepEqual([order.bank, order.status, order.resultCode, order.resolvedBy], ['alpha', 'failed', 'NOT_RECEIVED', 'query'], order.id);
    assert.ok(order.createdAt.getTime() < upAt, 'only payments from the dark period are lost to it');
  }
  assert.ok(stranded >= 1, 'some payments went to alpha before the circuit opened');
  const alpha = (await gateway.listChannels()).find((c) => c.bank === 'alpha')!;
  assert.equal(alpha.live.state, 'closed');
});

test('a bank that refuses connections: the same order moves to the next channel; a refund does not', async () => {
  const gateway = h.platform.runtime.channel;
  await eventually('alpha circuit closed', async () => (await gateway.listChannels()).find((c) => c.bank === 'alpha')?.live.state === 'closed', 10_000);
  const agreement = await h.bindCard('6228000020010000');
  const paid = await gateway.pay({ instructionId: 'before-kill', agreementId: agreement, amount: 3_000n, ctx });
  assert.ok(paid.ok);
  assert.equal((await h.waitFinal(paid.order.id)).bank, 'alpha');
  await h.sims.alpha.kill();
  // Let the client notice its kept-alive socket closed: a request written on a dead socket is
  // (rightly) unknown, not "never received", and would not move.
  await new Promise((resolve) => setTimeout(resolve, 200));
  try {
    const moved = await gateway.pay({ instructionId: 'alpha-gone', agreementId: agreement, amount: 3_100n, ctx });
    assert.ok(moved.ok);
    assert.equal(moved.order.bank, 'alpha', 'routed to alpha first: its circuit was closed');
    const final = await h.waitFinal(moved.order.id);
    assert.deepEqual([final.status, final.bank], ['success', 'beta']);
    assert.equal(final.reroutedFrom.length, 1);
    assert.equal(final.ctx.institution, 'beta');
    const refund = await gateway.refund({ instructionId: 'refund-at-gone-bank', originalOrderId: paid.order.id, amount: 100n, ctx });
    assert.ok(refund.ok);
    const refundFinal = await h.waitFinal(refund.order.id);
    assert.deepEqual([refundFinal.status, refundFinal.resultCode, refundFinal.bank], ['failed', 'CHANNEL_UNAVAILABLE', 'alpha']);
  } finally {
    await h.sims.alpha.start();
  }
});
