/**
 * The cashier in a real browser on a phone-sized screen: a buyer opens the merchant's cashier
 * link, picks a coupon, keeps balance for the rest, types the payment password, pays, and is
 * offered the way back to the merchant. Money is checked in the ledger, not on the screen only.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../../src/platform/index.js';
import { freePort } from '../support/process.js';
import { assertLedgerCheck, startTradeHarness, type TradeHarness } from '../trade/trade-support.js';
import { launchBrowser, screenshot, watchErrors } from './browser.js';

let h: TradeHarness;
let browser: Browser;
let base: string;

before(async () => {
  // A generous source timeout: on a loaded machine the page must still show every method (the
  // timeout itself is tested in web-api.test.ts).
  const defaults = loadConfig({});
  h = await startTradeHarness('webcashier', { config: { web: { ...defaults.web, cashierSourceTimeoutMs: 10_000 } } });
  const port = await freePort();
  await h.platform.runtime.http.listen({ port, host: '127.0.0.1' });
  base = `http://127.0.0.1:${port}`;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await assertLedgerCheck(h.platform);
  await h.close();
});

test('a buyer pays a trade with balance and a coupon on the cashier page', async () => {
  const buyer = await h.member('buyer');
  const seller = await h.member('Corner Shop', 'merchant');
  await h.fund(buyer.accountId, 20_000n);
  assert.equal((await h.api('POST', `/v1/members/${buyer.id}/payment-password`, { password: '246810' })).status, 200);
  const coupon = await h.api('POST', '/v1/coupons', { member_id: buyer.id, amount: 800, expires_at: new Date(Date.now() + 86_400_000).toISOString() });
  assert.equal(coupon.status, 201);
  const trade = await h.trade({ type: 'instant', buyer_id: buyer.id, seller_id: seller.id, amount: 5_000, subject: 'Two coffees' });
  const link = await h.api('POST', `/v1/trades/${trade.id}/cashier-link`, { return_url: `${base}/healthz` });
  assert.equal(link.status, 201);

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${base}${link.body.url as string}`);
  await page.getByRole('heading', { name: 'Two coffees' }).waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
  assert.equal(await page.getByTestId('amount').textContent(), '¥50.00');
  await page.getByText(/Corner Shop/).first().waitFor();
  assert.ok(await page.getByLabel(/Balance/).isChecked(), 'balance is the default source');
  await page.getByText('¥200.00 available').waitFor();
  await screenshot(page, 'cashier-1-open');

  // Keyboard only: tick the coupon with Space, type the password, submit with Enter.
  await page.getByLabel(/Coupon ¥8\.00/).focus();
  await page.keyboard.press('Space');
  assert.equal(await page.getByTestId('due').textContent(), '¥42.00');
  await page.getByLabel('Payment password').fill('246810');
  await screenshot(page, 'cashier-2-ready');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Payment complete' }).waitFor({ timeout: 10_000 });
  await screenshot(page, 'cashier-3-paid');

  const back = page.getByRole('link', { name: /Return to/ });
  assert.equal(await back.getAttribute('href'), `${base}/healthz`);
  assert.equal((await h.api('GET', `/v1/trades/${trade.id}`)).body.status, 'success');
  assert.equal((await h.balance(buyer.accountId)).available, 20_000n - 4_200n);
  assert.equal((await h.api('GET', `/v1/coupons/${coupon.body.id}`)).body.status, 'used');
  // The page sends the buyer back to the merchant by itself.
  await page.waitForURL(`${base}/healthz`, { timeout: 10_000 });
  assert.deepEqual(errors, []);
  await context.close();
});
