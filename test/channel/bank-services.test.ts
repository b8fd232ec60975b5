/**
 * Every service on every bank, through the gateway and the real simulators: card binding with
 * an SMS code (wrong code first), payment, declines, insufficient funds, partial refunds and the
 * refund bound, payouts, queries, idempotent repeats; the sandbox and admin HTTP surface.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChannelDB } from '../../src/channel/index.js';
import { formatDecimal } from '../../src/platform/index.js';
import { ctx, eventually, startHarness, type Bank, type Harness } from './channel-harness.js';

let h: Harness;
before(async () => {
  h = await startHarness('services');
});
after(async () => {
  await h?.close();
});

const cards: Record<Bank, string> = { alpha: '622200001234', beta: '621700001234' };

for (const bank of ['alpha', 'beta'] as const) {
  describe(`bank ${bank}`, () => {
    test('binding needs the right SMS code; the card number is not stored', async () => {
      const gateway = h.platform.runtime.channel;
      const cardNo = `${cards[bank]}0000`;
      const phone = bank === 'alpha' ? '13800000001' : '13800000002';
      const signed = await gateway.signCard({ memberRef: 'm-bind', cardNo, holderName: 'Li Lei', phone });
      assert.ok(signed.ok);
      assert.equal(signed.bank, bank);
      assert.equal(signed.last4, '0000');
      assert.equal(signed.status, 'pending_verification');
      const wrong = await gateway.verifyCard(signed.signId, '000000' === (await smsOf(bank, phone)) ? '111111' : '000000');
      assert.deepEqual(wrong.ok ? 'ok' : wrong.reason, 'SMS_CODE_WRONG');
      const verified = await gateway.verifyCard(signed.signId, await smsOf(bank, phone));
      assert.ok(verified.ok);
      assert.equal(verified.agreement.status, 'active');
      assert.equal(verified.agreement.bank, bank);
      const again = await gateway.verifyCard(signed.signId, '999999');
      assert.ok(again.ok, 'verifying an active binding again is idempotent');
      const rows = await h.platform.databases.get<Record<string, never>>('channel').selectFrom('channel.card_agreement' as never).selectAll().execute();
      assert.ok(rows.length > 0);
      assert.ok(!JSON.stringify(rows).includes(cardNo), 'no row holds the card number');
    });

    test('pay succeeds by callback; declined and insufficient funds fail with their codes', async () => {
      const gateway = h.platform.runtime.channel;
      const outcomes: Array<[string, string, string | null]> = [
        ['0000', 'success', null],
        ['0002', 'failed', 'DECLINED'],
        ['9995', 'failed', 'INSUFFICIENT_FUNDS'],
      ];
      for (const [ending, status, code] of outcomes) {
        const agreement = await h.bindCard(`${cards[bank]}${ending}`);
        const paid = await gateway.pay({ instructionId: `${bank}-pay-${ending}`, agreementId: agreement, amount: 12_345n, ctx });
        assert.ok(paid.ok);
        assert.equal(paid.order.status, 'processing', 'pay returns at once with the voucher');
        assert.equal(paid.order.bank, bank);
        assert.equal(paid.order.ctx.institution, bank);
        const final = await h.waitFinal(paid.order.id);
        assert.equal(final.status, status, `card ending ${ending}`);
        assert.equal(final.resultCode, code);
        assert.ok(final.bankRef?.startsWith(bank.toUpperCase()));
        const atBank = await h.sims[bank].txn(paid.order.id);
        assert.equal(atBank?.amount, '12345', 'the bank recorded the same amount in minor units');
      }
    });

    test('refunds: partial, many, never above what was paid; only of a successful payment', async () => {
      const gateway = h.platform.runtime.channel;
      const agreement = await h.bindCard(`${cards[bank]}0000`);
      const paid = await gateway.pay({ instructionId: `${bank}-refundable`, agreementId: agreement, amount: 10_000n, ctx });
      assert.ok(paid.ok);
      const notYet = await gateway.refund({ instructionId: `${bank}-early-refund`, originalOrderId: paid.order.id, amount: 100n, ctx });
      assert.deepEqual(notYet, { ok: false, reason: 'ORIGINAL_NOT_PAID' });
      assert.equal((await h.waitFinal(paid.order.id)).status, 'success');
      const first = await gateway.refund({ instructionId: `${bank}-refund-1`, originalOrderId: paid.order.id, amount: 6_000n, ctx });
      const second = await gateway.refund({ instructionId: `${bank}-refund-2`, originalOrderId: paid.order.id, amount: 4_000n, ctx });
      const third = await gateway.refund({ instructionId: `${bank}-refund-3`, originalOrderId: paid.order.id, amount: 1n, ctx });
      assert.ok(first.ok && second.ok);
      assert.deepEqual(third, { ok: false, reason: 'REFUND_EXCEEDS_PAYMENT' });
      for (const refund of [first.order, second.order]) {
        const final = await h.waitFinal(refund.id);
        assert.equal(final.status, 'success');
        assert.equal(final.bank, bank, 'a refund goes to the bank that took the payment');
        assert.equal(final.originalOrderId, paid.order.id);
      }
      const atBank = await h.sims[bank].txn(first.order.id);
      assert.equal(atBank?.originalRequestId, paid.order.id);
    });

    test('payout to a bound card; a declined card fails', async () => {
      const gateway = h.platform.runtime.channel;
      const good = await h.bindCard(`${cards[bank]}0000`);
      const bad = await h.bindCard(`${cards[bank]}0002`);
      const ok = await gateway.payout({ instructionId: `${bank}-payout-ok`, agreementId: good, amount: 50_000n, ctx });
      const ko = await gateway.payout({ instructionId: `${bank}-payout-ko`, agreementId: bad, amount: 50_000n, ctx });
      assert.ok(ok.ok && ko.ok);
      assert.equal((await h.waitFinal(ok.order.id)).status, 'success');
      const failed = await h.waitFinal(ko.order.id);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.resultCode, 'DECLINED');
      assert.equal((await h.sims[bank].txn(ok.order.id))?.service, 'payout');
    });

    test('query asks the bank and returns the order; a repeated pay is the same order; a different one is refused', async () => {
      const gateway = h.platform.runtime.channel;
      const agreement = await h.bindCard(`${cards[bank]}0000`);
      const paid = await gateway.pay({ instructionId: `${bank}-idem`, agreementId: agreement, amount: 777n, ctx });
      assert.ok(paid.ok && paid.created);
      const repeat = await gateway.pay({ instructionId: `${bank}-idem`, agreementId: agreement, amount: 777n, ctx });
      assert.ok(repeat.ok);
      assert.equal(repeat.created, false);
      assert.equal(repeat.order.id, paid.order.id);
      const conflict = await gateway.pay({ instructionId: `${bank}-idem`, agreementId: agreement, amount: 778n, ctx });
      assert.deepEqual(conflict, { ok: false, reason: 'INSTRUCTION_CONFLICT' });
      await h.waitFinal(paid.order.id);
      const queried = await gateway.query(paid.order.id);
      assert.equal(queried?.status, 'success');
      assert.equal((await h.sims[bank].info()).counters.requests > 0, true);
    });
  });
}

async function smsOf(bank: Bank, phone: string): Promise<string> {
  const response = await fetch(`${h.sims[bank].url}/sim/sms?phone=${phone}`);
  return ((await response.json()) as { code: string }).code;
}

test('a card no bank serves, an inactive agreement and bad amounts are refused as values', async () => {
  const gateway = h.platform.runtime.channel;
  assert.deepEqual(await gateway.signCard({ memberRef: 'm', cardNo: '4111111111111111', holderName: 'X', phone: '13800000009' }), { ok: false, reason: 'CARD_NOT_SUPPORTED' });
  assert.deepEqual(await gateway.signCard({ memberRef: 'm', cardNo: '6222', holderName: 'X', phone: '13800000009' }), { ok: false, reason: 'INVALID_CARD' });
  const signed = await gateway.signCard({ memberRef: 'm', cardNo: '6222000099990000', holderName: 'X', phone: '13800000009' });
  assert.ok(signed.ok);
  assert.deepEqual(await gateway.pay({ instructionId: 'pending-agreement', agreementId: signed.signId, amount: 100n, ctx }), { ok: false, reason: 'AGREEMENT_NOT_ACTIVE' });
  const agreement = await h.bindCard('6222000099990000');
  assert.deepEqual(await gateway.pay({ instructionId: 'zero', agreementId: agreement, amount: 0n, ctx }), { ok: false, reason: 'INVALID_AMOUNT' });
  assert.deepEqual(await gateway.pay({ instructionId: 'too-big', agreementId: agreement, amount: 5_000_001n, ctx }), { ok: false, reason: 'NO_CHANNEL' }, 'above every channel limit');
});

test('a 6228 network card binds once and pays through the cheaper bank (alpha)', async () => {
  const gateway = h.platform.runtime.channel;
  const agreement = await h.bindCard('6228000055550000');
  const paid = await gateway.pay({ instructionId: 'network-1', agreementId: agreement, amount: 2_000n, ctx });
  assert.ok(paid.ok);
  assert.equal(paid.order.bank, 'alpha');
  assert.equal((await h.waitFinal(paid.order.id)).status, 'success');
});

test('results reach onResult listeners once per order, and pollers', async () => {
  const gateway = h.platform.runtime.channel;
  const seen: string[] = [];
  const off = gateway.onResult((order) => void seen.push(`${order.id}:${order.status}`));
  const agreement = await h.bindCard('6217000077770000');
  const paid = await gateway.pay({ instructionId: 'listened', agreementId: agreement, amount: 300n, ctx });
  assert.ok(paid.ok);
  await h.waitFinal(paid.order.id);
  off();
  assert.deepEqual(seen.filter((s) => s.startsWith(paid.order.id)), [`${paid.order.id}:success`]);
  // Pollers see finished orders a second after they finished, in (finished_at, id) order.
  const found = await eventually('the poller sees it', async () => {
    let cursor;
    const seenByPoller = [];
    for (let page = 0; page < 20; page += 1) {
      const polled = await gateway.pollResults(cursor, 10);
      seenByPoller.push(...polled.orders);
      if (polled.orders.length < 10) break;
      cursor = polled.cursor;
    }
    const mine = seenByPoller.filter((o) => o.id === paid.order.id);
    return mine.length > 0 && mine;
  }, 5_000);
  assert.equal(found.length, 1);
  assert.equal(found[0]!.status, 'success');
});

test('HTTP: sandbox SMS, banks and behaviour; admin channel list and switch', async () => {
  const app = h.platform.runtime.http;
  const client = await h.platform.newClient();
  const auth = { authorization: `Bearer ${client.apiKey}` };
  const signed = await h.platform.runtime.channel.signCard({ memberRef: 'm-http', cardNo: '6217000012120000', holderName: 'Han Meimei', phone: '13912345678' });
  assert.ok(signed.ok);
  const sms = await app.inject({ method: 'GET', url: '/v1/sandbox/sms?phone=13912345678', headers: auth });
  assert.equal(sms.statusCode, 200);
  assert.match(sms.json().code, /^\d{6}$/);
  assert.equal(sms.json().bank, 'beta');
  assert.equal((await app.inject({ method: 'GET', url: '/v1/sandbox/sms?phone=13900000000', headers: auth })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/sandbox/sms?phone=13912345678' })).statusCode, 401);

  const banks = await app.inject({ method: 'GET', url: '/v1/sandbox/banks', headers: auth });
  assert.equal(banks.statusCode, 200);
  const byName = Object.fromEntries((banks.json().data as Array<{ bank: string; card_prefixes: string[] }>).map((b) => [b.bank, b.card_prefixes]));
  assert.deepEqual(byName, { alpha: ['6222', '6228'], beta: ['6217', '6228'] });

  const set = await app.inject({ method: 'POST', url: '/v1/sandbox/banks/beta/behaviour', headers: auth, payload: { latency_ms: 5, failure_rate: 0 } });
  assert.equal(set.statusCode, 200);
  assert.equal(set.json().behaviour.latency_ms, 5);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/sandbox/banks/beta/behaviour', headers: auth, payload: { failure_rate: 2 } })).statusCode, 400);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/sandbox/banks/gamma/behaviour', headers: auth, payload: {} })).statusCode, 404);

  const viewer = await h.platform.newOperator('viewer');
  const operator = await h.platform.newOperator('operator');
  const list = await app.inject({ method: 'GET', url: '/admin/channels', headers: { authorization: `Bearer ${viewer.token}` } });
  assert.equal(list.statusCode, 200);
  const alpha = (list.json().data as Array<Record<string, unknown>>).find((c) => c.bank === 'alpha')!;
  assert.equal(alpha.circuit, 'closed');
  assert.equal(alpha.enabled, true);
  assert.equal((await app.inject({ method: 'POST', url: `/admin/channels/${String(alpha.id)}/switch`, headers: { authorization: `Bearer ${viewer.token}` }, payload: { state: 'off' } })).statusCode, 403);
  const off = await app.inject({ method: 'POST', url: `/admin/channels/${String(alpha.id)}/switch`, headers: { authorization: `Bearer ${operator.token}` }, payload: { state: 'off' } });
  assert.equal(off.statusCode, 200);
  assert.equal(off.json().enabled, false);
  const gateway = h.platform.runtime.channel;
  const alphaCard = await h.bindCard('6228000012340000');
  const routed = await gateway.pay({ instructionId: 'switched-off', agreementId: alphaCard, amount: 100n, ctx });
  assert.ok(routed.ok);
  assert.equal(routed.order.bank, 'beta', 'with alpha switched off a 6228 card goes to beta');
  await h.waitFinal(routed.order.id);
  // /metrics shows the switch, the circuits and the bank calls made so far.
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /paycore_channel_enabled\{channel="alpha-quickpay",bank="alpha"\} 0/);
  assert.match(metrics, /paycore_channel_enabled\{channel="beta-quickpay",bank="beta"\} 1/);
  assert.match(metrics, /paycore_channel_circuit_state\{channel="beta-quickpay",state="closed"\} 1/);
  assert.match(metrics, /paycore_channel_calls_total\{channel="beta-quickpay",outcome="ok"\} [1-9]/);
  assert.match(metrics, /paycore_channel_call_duration_seconds_count\{channel="beta-quickpay"\} [1-9]/);
  assert.match(metrics, /paycore_channel_success_ratio\{channel="beta-quickpay"\} 1/);
  const on = await app.inject({ method: 'POST', url: '/admin/channels/alpha-quickpay/switch', headers: { authorization: `Bearer ${operator.token}` }, payload: { state: 'on' } });
  assert.equal(on.json().enabled, true);
  assert.equal((await app.inject({ method: 'POST', url: '/admin/channels/nope/switch', headers: { authorization: `Bearer ${operator.token}` }, payload: { state: 'on' } })).statusCode, 404);
  await h.waitFinal(routed.order.id);
});

test('daily statements: alpha CSV and beta pipe-separated, with discrepancies on request', async () => {
  const today = new Date().toISOString().slice(0, 10);
  const db = h.platform.databases.get<ChannelDB>('channel');
  for (const bank of ['alpha', 'beta'] as const) {
    const ours = await db.selectFrom('channel.channel_order').select(['id', 'amount']).where('bank', '=', bank).where('status', '=', 'success').execute();
    assert.ok(ours.length >= 3, `some ${bank} successes to list`);
    const plain = await fetch(`${h.sims[bank].url}/sim/statements/${today}`);
    assert.equal(plain.status, 200);
    const text = await plain.text();
    const lines = text.trim().split('\n');
    if (bank === 'alpha') {
      assert.equal(lines[0], 'request_id,bank_ref,service,amount_minor,currency,status,finished_at');
      const rows = new Map(lines.slice(1).map((l) => l.split(',')).map((f) => [f[0], f]));
      for (const order of ours) assert.equal(rows.get(order.id)?.[3], order.amount.toString(), `alpha lists ${order.id} with its amount`);
    } else {
      const compact = today.replaceAll('-', '');
      assert.match(lines[0]!, new RegExp(`^H\\|BETA\\|${compact}\\|\\d+\\|\\d+\\.\\d{2}$`));
      assert.equal(lines.at(-1), `T|${lines.length - 2}|${lines[0]!.split('|')[4]}`);
      const rows = new Map(lines.slice(1, -1).map((l) => l.split('|')).map((f) => [f[1], f]));
      for (const order of ours) assert.equal(rows.get(order.id)?.[4], formatDecimal(order.amount), `beta lists ${order.id} with its amount`);
    }
    const told = await fetch(`${h.sims[bank].url}/sim/statements/${today}/discrepancies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ missing: 1, extra: 1, amount: 1 }) });
    const altered = (await told.json()) as { body: string; discrepancies: { missing: string[]; extra: string[]; amount: string[] } };
    assert.equal(altered.discrepancies.missing.length, 1);
    assert.equal(altered.discrepancies.extra.length, 1);
    assert.equal(altered.discrepancies.amount.length, 1);
    assert.ok(!altered.body.includes(altered.discrepancies.missing[0]!), 'the missing line is gone');
    assert.ok(altered.body.includes(altered.discrepancies.extra[0]!), 'the extra line is there');
    const again = await (await fetch(`${h.sims[bank].url}/sim/statements/${today}`)).text();
    assert.equal(again, altered.body, 'the discrepancies stay with that day');
  }
});
