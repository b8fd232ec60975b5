/**
 * A simulated bank killed mid-flight (SIGKILL) and started again on the same data: its
 * agreements, pending SMS bindings and accepted transactions survive, a transaction it accepted
 * before dying still settles, and the gateway learns the result (callback or query).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ctx, eventually, startHarness, type Harness } from './channel-harness.js';

let h: Harness;
before(async () => {
  h = await startHarness('restart');
});
after(async () => {
  await h?.close();
});

test('alpha killed while a payment is in flight: after restart the payment is known and the binding still works', { timeout: 60_000 }, async () => {
  const gateway = h.platform.runtime.channel;
  const agreement = await h.bindCard('6222000088880000');
  const pending = await gateway.signCard({ memberRef: 'm-restart', cardNo: '6222000088890000', holderName: 'Wang Wu', phone: '13700000077' });
  assert.ok(pending.ok);
  const code = ((await (await fetch(`${h.sims.alpha.url}/sim/sms?phone=13700000077`)).json()) as { code: string }).code;

  // The bank records the payment at once but answers (and settles) only after 1.5 s.
  await h.sims.alpha.behaviour({ latency_ms: 1_500, latency_jitter_ms: 0 });
  const paid = await gateway.pay({ instructionId: 'in-flight', agreementId: agreement, amount: 8_800n, ctx });
  assert.ok(paid.ok);
  await eventually('the bank has it', async () => (await h.sims.alpha.txn(paid.order.id)) !== undefined, 3_000);
  await h.sims.alpha.kill();
  const unknown = await eventually('unknown', async () => {
    const order = await gateway.getOrder(paid.order.id);
    return order?.status === 'unknown' && order;
  });
  assert.equal(unknown.bank, 'alpha');

  await h.sims.alpha.start();
  const atBank = await h.sims.alpha.txn(paid.order.id);
  assert.equal(atBank?.amount, '8800', 'the accepted transaction survived the restart');
  const final = await h.waitFinal(paid.order.id, 15_000);
  assert.equal(final.status, 'success');
  assert.equal(await h.sims.beta.txn(paid.order.id), undefined);

  const verified = await gateway.verifyCard(pending.signId, code);
  assert.ok(verified.ok, `a binding started before the restart is confirmed after it: ${JSON.stringify(verified)}`);
  // Calls failed while the bank was gone, so its circuit opened; probes close it again.
  await eventually('alpha circuit closed', async () => (await gateway.listChannels()).find((c) => c.bank === 'alpha')?.live.state === 'closed', 10_000);
  const again = await gateway.pay({ instructionId: 'after-restart', agreementId: agreement, amount: 100n, ctx });
  assert.ok(again.ok, JSON.stringify(again, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  assert.equal((await h.waitFinal(again.order.id, 15_000)).status, 'success', 'the agreement made before the restart still pays');
  const refund = await gateway.refund({ instructionId: 'refund-after-restart', originalOrderId: paid.order.id, amount: 8_800n, ctx });
  assert.ok(refund.ok, JSON.stringify(refund, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  assert.equal((await h.waitFinal(refund.order.id)).status, 'success', 'the bank still knows the payment it refunds');
});
