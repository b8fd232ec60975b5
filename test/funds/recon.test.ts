/**
 * External reconciliation against real bank simulator processes (two `paycore bank-sim` children
 * via the channel harness): real channel orders, each bank's real statement file with injected
 * discrepancies. Every injected discrepancy must be found, nothing else; matched orders clear into
 * the bank deposit; accepting a correction posts its voucher once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatement } from '../../src/funds/index.js';
import { ctx, eventually, secrets, startHarness, type Bank, type Harness } from '../channel/channel-harness.js';
import { childEnv, spawnPaycore } from '../support/process.js';

let h: Harness;
const cards: Record<Bank, string> = { alpha: '622200001111', beta: '621700001111' };
const today = new Date().toISOString().slice(0, 10);
const paid: Record<Bank, Map<string, bigint>> = { alpha: new Map(), beta: new Map() };

before(async () => {
  h = await startHarness('fundsrecon');
  const gateway = h.platform.runtime.channel;
  for (const bank of ['alpha', 'beta'] as const) {
    const agreement = await h.bindCard(`${cards[bank]}0000`);
    const orders = [];
    for (let i = 0; i < 6; i += 1) {
      const started = await gateway.pay({ instructionId: `recon-${bank}-${i}`, agreementId: agreement, amount: 1_000n + BigInt(i) * 7n, ctx });
      assert.ok(started.ok);
      orders.push(started.order.id);
    }
    for (const id of orders) {
      const final = await h.waitFinal(id);
      assert.equal(final.status, 'success');
      paid[bank].set(id, final.amount);
    }
    // A refund is on the statement too, and clears the other way.
    const refund = await gateway.refund({ instructionId: `recon-${bank}-refund`, originalOrderId: orders[5]!, amount: 500n, ctx });
    assert.ok(refund.ok);
    assert.equal((await h.waitFinal(refund.order.id)).status, 'success');
    paid[bank].set(refund.order.id, 500n);
  }
  // pollResults shows orders one second after they finished.
  await new Promise((resolve) => setTimeout(resolve, 1_200));
});

after(async () => {
  await h?.close();
});

async function inject(bank: Bank, counts: { missing: number; extra: number; amount: number }): Promise<{ missing: string[]; extra: string[]; amount: string[] }> {
  const response = await fetch(`${h.sims[bank].url}/sim/statements/${today}/discrepancies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(counts) });
  assert.equal(response.status, 200);
  return ((await response.json()) as { discrepancies: { missing: string[]; extra: string[]; amount: string[] } }).discrepancies;
}

test('every injected statement discrepancy is found and none invented, for both statement formats', async () => {
  const funds = h.platform.runtime.funds;
  for (const [bank, counts] of [['alpha', { missing: 1, extra: 2, amount: 1 }], ['beta', { missing: 2, extra: 1, amount: 2 }]] as const) {
    const injected = await inject(bank, counts);
    const result = await funds.recon.run(bank, today, 'test');
    assert.ok(result.ok, result.ok ? '' : `${result.error}: ${result.detail}`);
    const found = (kind: string) => result.discrepancies.filter((d) => d.kind === kind).map((d) => d.request_id).sort();
    assert.deepEqual(found('ours_only'), [...injected.missing].sort(), `${bank}: ours only = the lines left out`);
    assert.deepEqual(found('theirs_only'), [...injected.extra].sort(), `${bank}: theirs only = the lines added`);
    assert.deepEqual(found('amount_differs'), [...injected.amount].sort(), `${bank}: amount differs = the lines altered`);
    assert.equal(result.discrepancies.length, counts.missing + counts.extra + counts.amount, `${bank}: nothing invented`);
    const run = result.run;
    assert.equal(run.matched, paid[bank].size - counts.missing - counts.amount);
    assert.equal(run.lines, paid[bank].size - counts.missing + counts.extra);
    // The matched orders cleared: the deposit at that bank holds their net (pays minus the refund).
    let net = 0n;
    const differing = new Set([...injected.missing, ...injected.amount]);
    for (const [id, amount] of paid[bank]) if (!differing.has(id)) net += amount === 500n ? -amount : amount;
    assert.equal(run.settled_amount, net);
    const deposit = await h.platform.runtime.ledger.getAccountByCode(`bank-deposit:${bank}:CNY`);
    assert.equal(deposit!.posted, -net, 'our deposit at the bank (an asset: a debit balance)');
    // A second run finds the same differences and queues and clears nothing twice.
    const again = await funds.recon.run(bank, today, 'test');
    assert.ok(again.ok);
    assert.equal(again.discrepancies.length, result.discrepancies.length);
    assert.equal(again.run.settled_amount, 0n);
  }
});

test('the clearing consumer records every channel success from the event stream', async () => {
  const db = h.platform.databases.get<any>('funds');
  await eventually('clearing items', async () => {
    const rows = await db.selectFrom('funds.clearing_item').select(['order_id', 'status']).execute();
    return rows.length >= paid.alpha.size + paid.beta.size;
  });
  const open = await db.selectFrom('funds.clearing_item').select('order_id').where('status', '=', 'open').execute();
  assert.equal(open.length, 3 + 3, 'what is still open is exactly the ours-only and amount-differs orders');
});

test('an operator accepts a correction over HTTP: the voucher posts once; viewers may only read', async () => {
  const operator = await h.platform.newOperator('operator');
  const viewer = await h.platform.newOperator('viewer');
  const call = (method: 'GET' | 'POST', url: string, token: string) => h.platform.runtime.http.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
  const runs = await call('GET', `/admin/funds/recon-runs?bank=alpha&date=${today}`, viewer.token);
  assert.equal(runs.statusCode, 200, runs.body);
  const listed = JSON.parse(runs.body).data as Array<{ date: string; bank: string; status: string }>;
  assert.equal(listed.length, 2);
  assert.ok(listed.every((r) => r.date === today && r.bank === 'alpha' && r.status === 'done'));
  const list = await call('GET', '/admin/funds/discrepancies?status=open&bank=alpha', viewer.token);
  const open = JSON.parse(list.body).data as Array<{ id: string; kind: string; our_amount: number | null; their_amount: number | null; proposal: { entries: Array<{ code: string; amount: string }> } }>;
  assert.equal(open.length, 4);
  const differs = open.find((d) => d.kind === 'amount_differs')!;
  assert.equal(differs.their_amount! - differs.our_amount!, 100, 'the simulator adds 1.00');
  assert.equal((await call('POST', `/admin/funds/discrepancies/${differs.id}/accept`, viewer.token)).statusCode, 403);
  const suspenseBefore = (await h.platform.runtime.ledger.getAccountByCode('recon:suspense:CNY'))?.posted ?? 0n;
  const accepted = await call('POST', `/admin/funds/discrepancies/${differs.id}/accept`, operator.token);
  assert.equal(accepted.statusCode, 200, accepted.body);
  const body = JSON.parse(accepted.body);
  assert.equal(body.status, 'accepted');
  const voucher = await h.platform.runtime.ledger.getVoucher(body.voucher_id);
  assert.equal(voucher!.source, 'funds.correction');
  assert.equal(voucher!.entries.reduce((s, e) => s + e.amount, 0n), 0n);
  const again = await call('POST', `/admin/funds/discrepancies/${differs.id}/accept`, operator.token);
  assert.equal(JSON.parse(again.body).voucher_id, body.voucher_id, 'accepting twice posts nothing new');
  const suspense = await h.platform.runtime.ledger.getAccountByCode('recon:suspense:CNY');
  assert.equal(suspense!.posted - suspenseBefore, 100n, 'the 1.00 the bank settled more waits in suspense');
  assert.equal((await call('POST', '/admin/funds/discrepancies/00000000-0000-7000-8000-000000000000/accept', operator.token)).statusCode, 404);
  const unknown = await h.platform.runtime.http.inject({ method: 'POST', url: '/admin/funds/recon-runs', headers: { authorization: `Bearer ${operator.token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ bank: 'gamma', date: today }) });
  assert.equal(JSON.parse(unknown.body).error.code, 'UNKNOWN_BANK');
});

test('paycore recon run (the CLI) reconciles the same statement: same differences, nothing cleared twice', async () => {
  const env = childEnv({ DATABASE_URL: h.platform.config.databaseUrl!, PAYCORE_BANK_BETA_URL: h.sims.beta.url, PAYCORE_BANK_BETA_SECRET: secrets.beta, PAYCORE_BANK_ALPHA_URL: h.sims.alpha.url, PAYCORE_BANK_ALPHA_SECRET: secrets.alpha });
  const cli = spawnPaycore(['recon', 'run', '--bank', 'beta', '--date', today, '--json'], env);
  assert.equal(await cli.exited(), 0, cli.output());
  const printed = JSON.parse(cli.output().trim().split('\n').at(-1)!);
  assert.equal(printed.ok, true);
  assert.equal(printed.run.matched, paid.beta.size - 2 - 2);
  assert.equal(printed.run.settled_amount, 0);
  assert.equal(printed.discrepancies.length, 5);
});

test('a statement whose trailer or lines do not add up is refused whole', async () => {
  const beta = await (await fetch(`${h.sims.beta.url}/sim/statements/${today}`)).text();
  assert.ok(parseStatement('beta', beta, today).ok);
  const lines = beta.trim().split('\n');
  const tampered = [lines[0], lines[1]!.replace(/\|(\d+)\.(\d\d)\|CNY/, (_m, a: string, b: string) => `|${Number(a) + 1}.${b}|CNY`), ...lines.slice(2)].join('\n');
  assert.deepEqual(parseStatement('beta', tampered, today), { ok: false, error: 'beta: amount total differs from header or trailer' });
  const alpha = await (await fetch(`${h.sims.alpha.url}/sim/statements/${today}`)).text();
  assert.ok(parseStatement('alpha', alpha, today).ok);
  assert.equal(parseStatement('alpha', alpha.replace(',SUCCESS,', ',FAILED,'), today).ok, false);
});
