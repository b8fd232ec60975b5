/**
 * The console in a real browser over the whole platform with both simulated banks: an operator
 * logs in, watches card payments flow on the dashboard, switches the busy channel off and sees
 * new traffic move to the other; then resends a failed merchant notification.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ctx, eventually, startHarness, type Harness } from '../channel/channel-harness.js';
import type { NotifyDB } from '../../src/notify/index.js';
import { loadConfig, newId } from '../../src/platform/index.js';
import { launchBrowser, screenshot, watchErrors } from './browser.js';

let h: Harness;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let base: string;

before(async () => {
  h = await startHarness('webconsole', {}, { notifyScheduleMs: [], notifyIntervalMs: 100, notifyTimeoutMs: 2_000, web: { ...loadConfig({}).web, cashierSourceTimeoutMs: 10_000 } });
  base = `http://127.0.0.1:${h.port}`;
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  errors = watchErrors(page);
  const operator = await h.platform.newOperator('operator');
  await page.goto(`${base}/console`);
  await page.getByLabel('Operator name').fill(operator.name);
  await page.getByLabel('Password').fill(operator.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
});
after(async () => {
  await context?.close();
  await browser?.close();
  await h?.close();
});

async function rate(code: string): Promise<number> {
  return Number(await page.getByTestId(`rate-${code}`).textContent());
}

test('an operator switches a channel off and sees new traffic move on the dashboard', async () => {
  const gateway = h.platform.runtime.channel;
  const agreements = [await h.bindCard('6228000030010000'), await h.bindCard('6228000030020000')];
  // Background card payments, ~10/s, bounded by the test's own end.
  let running = true;
  let n = 0;
  const channelOf = new Map<string, string>();
  const traffic = (async () => {
    while (running && n < 2_000) {
      n += 1;
      const paid = await gateway.pay({ instructionId: `web-${n}-${newId()}`, agreementId: agreements[n % 2]!, amount: 1_000n + BigInt(n), ctx });
      if (paid.ok) channelOf.set(paid.order.id, paid.order.channelId);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    const channels = await gateway.listChannels();
    const codeOf = (id: string) => channels.find((c) => c.id === id)!.code;
    const busy = await eventually('traffic on the dashboard', async () => {
      for (const c of channels) if ((await rate(c.code)) > 0) return c.code;
      return undefined;
    }, 20_000);
    const other = channels.find((c) => c.code !== busy)!.code;
    await screenshot(page, 'console-1-dashboard-before');

    await page.getByRole('link', { name: 'Channels' }).click();
    await page.getByRole('button', { name: `Switch ${busy} off` }).click();
    await page.getByRole('button', { name: `Switch ${busy} on` }).waitFor();
    await screenshot(page, 'console-2-channels-switched');
    const switchedAt = n;

    await page.getByRole('link', { name: 'Dashboard' }).click();
    await eventually('traffic moved on the dashboard', async () => (await rate(other)) > 0 && (await rate(busy)) === 0, 20_000);
    await page.getByRole('row', { name: new RegExp(`^${busy} off`) }).waitFor();
    await screenshot(page, 'console-3-dashboard-after');
    // Not the screen only: the orders made after the switch went to the other channel.
    const later = [...channelOf.entries()].slice(switchedAt + 2).map(([, channelId]) => codeOf(channelId));
    assert.ok(later.length > 0);
    assert.ok(later.every((code) => code === other), `orders after the switch: ${later.join(',')}`);
  } finally {
    running = false;
    await traffic;
  }
  assert.deepEqual(errors, []);
});

test('a failed notification is resent from the console', async () => {
  let answer = 500;
  const received: string[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(body);
      response.writeHead(answer).end(answer === 200 ? 'ok' : 'down');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/notify`;
    const client = await h.platform.newClient('web-notify');
    const { notify, databases } = h.platform.runtime;
    const eventId = newId();
    const id = await notify.enqueue(databases.get<NotifyDB>('notify'), { kind: 'merchant', clientId: client.id, eventId, eventType: 'trade.paid', url, body: JSON.stringify({ id: eventId, type: 'trade.paid', created_at: new Date().toISOString(), data: {} }) });
    assert.ok(id);
    await eventually('the notification failed', async () => (await notify.repository.get(id))?.delivery.status === 'failed', 15_000);

    await page.getByRole('link', { name: 'Notifications' }).click();
    const row = page.locator(`tr[data-row-id="${id}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /failed/);
    await screenshot(page, 'console-4-notification-failed');

    answer = 200;
    await page.getByRole('button', { name: `Resend ${id}` }).click();
    await page.getByRole('status').filter({ hasText: 'queued again' }).waitFor();
    await eventually('the notification delivered', async () => (await notify.repository.get(id))?.delivery.status === 'delivered', 15_000);
    await page.getByLabel('Status').selectOption('delivered');
    await page.locator(`tr[data-row-id="${id}"]`).waitFor();
    await screenshot(page, 'console-5-notification-resent');
    const found = await notify.repository.get(id);
    assert.equal(found?.attempts.length, 2);
    assert.equal(received.length, 2);
    assert.equal(received[0], received[1], 'the same body both times');
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
  }
  assert.deepEqual(errors, []);
});

test('the cashier binds a new card with its SMS step and pays with it (real banks)', async () => {
  const client = await h.platform.newClient('web-card');
  const call = async (method: 'GET' | 'POST', url: string, body?: unknown, authorization = `Bearer ${client.apiKey}`) => {
    const response = await h.platform.runtime.http.inject({ method, url, headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { payload: JSON.stringify(body) } : {}) });
    return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, any> };
  };
  const buyer = await call('POST', '/v1/members', { type: 'personal', name: 'card buyer' });
  const seller = await call('POST', '/v1/members', { type: 'merchant', name: 'card shop' });
  assert.equal((await call('POST', `/v1/members/${buyer.body.id}/payment-password`, { password: '112233' })).status, 200);
  const trade = await call('POST', '/v1/trades', { type: 'instant', out_trade_no: `card-${newId()}`, buyer_id: buyer.body.id, seller_id: seller.body.id, amount: 2_300, subject: 'by card' });
  assert.equal(trade.status, 201, JSON.stringify(trade.body));
  const link = await call('POST', `/v1/trades/${trade.body.id}/cashier-link`, {});
  const cashier = `Cashier ${link.body.token as string}`;

  const phone = `1380${String(process.pid % 10_000).padStart(4, '0')}777`;
  const bound = await call('POST', `/v1/cashier/${trade.body.id}/cards`, { card_no: '6228000030090000', holder_name: 'Card Buyer', phone }, cashier);
  assert.equal(bound.status, 201, JSON.stringify(bound.body));
  assert.equal(bound.body.status, 'pending_verification');
  const bank = bound.body.bank as 'alpha' | 'beta';
  const sms = (await (await fetch(`${h.sims[bank].url}/sim/sms?phone=${phone}`)).json()) as { code: string };
  const wrong = await call('POST', `/v1/cashier/${trade.body.id}/cards/${bound.body.id}/verify`, { sms_code: sms.code === '000000' ? '111111' : '000000' }, cashier);
  assert.equal(wrong.body.error?.code, 'SMS_CODE_WRONG');
  const verified = await call('POST', `/v1/cashier/${trade.body.id}/cards/${bound.body.id}/verify`, { sms_code: sms.code }, cashier);
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  assert.equal(verified.body.status, 'active');

  const view = await call('GET', `/v1/cashier/${trade.body.id}`, undefined, cashier);
  assert.deepEqual(view.body.methods.cards.map((c: { id: string }) => c.id), [bound.body.id]);
  const paid = await call('POST', `/v1/cashier/${trade.body.id}/pay`, { methods: [{ tool: 'card', card_id: bound.body.id }], payment_password: '112233' }, cashier);
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  assert.ok(['paying', 'success'].includes(paid.body.trade.status as string));
  await eventually('the card payment completed', async () => (await call('GET', `/v1/trades/${trade.body.id}`)).body.status === 'success', 15_000);
});
