/**
 * A real crash between the TCC phases: a child process pays a trade (full TCC: the ledger and
 * marketing in databases of their own) and is killed with SIGKILL after try, holding the buyer's
 * money frozen and the coupon reserved. The recovery pass of this process then cancels the
 * activity: nothing stays frozen, the coupon is available, the trade payable again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../support/process.js';
import { assertLedgerCheck, startTradeHarness, type TradeHarness } from '../trade/trade-support.js';

let h: TradeHarness;

before(async () => {
  h = await startTradeHarness('crash', { separate: ['ledger', 'marketing'] });
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

test('SIGKILL between try and confirm: recovery cancels; no money stays frozen', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('seller');
  await h.fund(buyer.accountId, 5_000n);
  const coupon = await h.api('POST', '/v1/coupons', { member_id: buyer.id, amount: 300, expires_at: new Date(Date.now() + 86_400_000).toISOString() });
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 2_000 });
  const { databases } = h.platform;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/payment/crash-child.ts'), databases.url('trade'), databases.url('ledger'), databases.url('marketing'), h.clientId, trade.id, coupon.body.id], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('TRIED')) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `child did not reach try:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'paying');
  assert.equal((await h.balance(buyer.accountId)).frozen, 1_700n);
  assert.equal((await h.api('GET', `/v1/coupons/${coupon.body.id}`)).body.status, 'reserved');

  // "Restart": this process's recovery pass finds the activity the dead one left trying.
  await h.platform.runtime.trade.payment.recover(new Date(Date.now() + 120_000));
  assert.deepEqual(await h.balance(buyer.accountId), { ...(await h.balance(buyer.accountId)), posted: 5_000n, frozen: 0n });
  assert.equal((await h.api('GET', `/v1/coupons/${coupon.body.id}`)).body.status, 'available');
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'wait_pay');
  const paid = await h.api('POST', `/v1/trades/${trade.id}/pay`, { methods: [{ tool: 'balance' }] });
  assert.equal(paid.body.status, 'success');
  assert.equal((await h.balance(seller.accountId)).posted, 2_000n);
});
