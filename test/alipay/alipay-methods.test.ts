/**
 * Every method of ALIPAY.md's table through the official alipay-sdk against the running server:
 * v2 `exec` with `validateSign: true` and v3 `curl` (which always verifies the response
 * headers), on the real trade core; notifications verified with the SDK's `checkNotifySign`.
 */
// The merchant runs in China, as alipay-sdk assumes: its v2 timestamps are local wall-clock times.
process.env.TZ = 'Asia/Shanghai';

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AlipayRequestError, type AlipaySdk } from 'alipay-sdk';
import { formatAlipayTime } from '../../src/alipay/index.js';
import { loadConfig, newId, type PlatformContext } from '../../src/platform/index.js';
import { FakeChannel } from '../trade/trade-support.js';
import { startAlipayTestbed, startNotifyReceiver, type AlipayTestbed, type NotifyReceiver } from './alipay-support.js';

let bed: AlipayTestbed;
let sdk: AlipaySdk;
let receiver: NotifyReceiver;
let ctx: PlatformContext;
let buyerId: string;
let payeeId: string;
let seq = 0;
/** The bank side of payouts, answered by the test (the real gateway with simulated banks has its own tests). */
const channel = new FakeChannel();

const defaults = loadConfig({});

/** A fresh out_trade_no per test. */
function outNo(label: string): string {
  seq += 1;
  return `${label}-${process.pid}-${seq}-${Date.now()}`;
}

async function fund(memberId: string, amount: bigint): Promise<void> {
  const { ledger, members } = bed.platform.runtime;
  const source = await ledger.openAccount({ type: 'platform', currency: 'CNY', code: 'test:alipay-funding:CNY' });
  assert.ok(source.ok);
  const member = await members.get(bed.clientId, memberId);
  const posted = await ledger.post({ source: 'test', reference: newId(), currency: 'CNY', entries: [{ accountId: source.account.id, amount: -amount }, { accountId: member!.accountId, amount }] });
  assert.ok(posted.ok, JSON.stringify(posted));
}

async function paymentCode(memberId: string): Promise<string> {
  return (await bed.platform.runtime.members.issuePaymentCode(bed.clientId, memberId)).authCode;
}

async function balance(memberId: string): Promise<bigint> {
  const member = await bed.platform.runtime.members.get(bed.clientId, memberId);
  const account = await bed.platform.runtime.ledger.balance(member!.accountId);
  assert.ok(account);
  return account.available;
}

/** v3 call that must succeed; the SDK has verified alipay-signature before returning. */
async function v3<T = Record<string, string>>(path: string, body: Record<string, unknown>): Promise<T> {
  const { data, responseHttpStatus } = await sdk.curl<T>('POST', path, { body });
  assert.equal(responseHttpStatus, 200);
  return data;
}

async function v3Failure(path: string, body: Record<string, unknown>): Promise<AlipayRequestError> {
  try {
    await sdk.curl('POST', path, { body });
  } catch (error) {
    assert.ok(error instanceof AlipayRequestError);
    return error;
  }
  assert.fail(`${path} should have failed`);
}

before(async () => {
  bed = await startAlipayTestbed({
    config: {
      eventsRelayIntervalMs: 20,
      eventsConsumerIntervalMs: 20,
      notifyIntervalMs: 20,
      alipay: { ...defaults.alipay, notifyScheduleMs: [300, 300, 300] },
    },
  });
  bed.platform.runtime.trade.payment.useChannel(channel);
  bed.platform.runtime.startWorkers();
  sdk = bed.sdk();
  receiver = await startNotifyReceiver();
  ctx = { client: bed.clientId, traceId: 'alipay-test' };
  buyerId = (await bed.platform.runtime.members.create(ctx, { type: 'personal', name: 'buyer' })).id;
  payeeId = (await bed.platform.runtime.members.create(ctx, { type: 'personal', name: 'payee' })).id;
  await fund(buyerId, 100_000n); // 1,000.00
});

after(async () => {
  await receiver?.close();
  await bed?.close();
});

describe('create, query, close', () => {
  test('v2: 0.01 and 99999999.99 round-trip exactly; close makes it TRADE_CLOSED', async () => {
    for (const amount of ['0.01', '99999999.99']) {
      const no = outNo('create');
      const created = await sdk.exec('alipay.trade.create', { bizContent: { outTradeNo: no, totalAmount: amount, subject: '测试 & co', buyerId } }, { validateSign: true });
      assert.equal(created.code, '10000', JSON.stringify(created));
      assert.equal(created.outTradeNo, no);
      const queried = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: no } }, { validateSign: true });
      assert.equal(queried.code, '10000');
      assert.equal(queried.tradeStatus, 'WAIT_BUYER_PAY');
      assert.equal(queried.totalAmount, amount);
      assert.equal(queried.tradeNo, created.tradeNo);
      const closed = await sdk.exec('alipay.trade.close', { bizContent: { tradeNo: created.tradeNo } }, { validateSign: true });
      assert.equal(closed.code, '10000');
      const after = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: no } }, { validateSign: true });
      assert.equal(after.tradeStatus, 'TRADE_CLOSED');
    }
  });

  test('v3: the same through curl, amounts as JSON numbers too', async () => {
    const no = outNo('create3');
    const created = await v3('/v3/alipay/trade/create', { out_trade_no: no, total_amount: 99999999.99, subject: 'v3', buyer_id: buyerId });
    assert.equal(created.out_trade_no, no);
    const queried = await v3('/v3/alipay/trade/query', { out_trade_no: no });
    assert.equal(queried.total_amount, '99999999.99');
    assert.equal(queried.trade_status, 'WAIT_BUYER_PAY');
    assert.equal((await v3('/v3/alipay/trade/close', { out_trade_no: no })).trade_no, created.trade_no);
    const small = await v3('/v3/alipay/trade/create', { out_trade_no: outNo('create3'), total_amount: '0.01', subject: 'v3', buyer_id: buyerId });
    assert.equal((await v3('/v3/alipay/trade/query', { trade_no: small.trade_no })).total_amount, '0.01');
  });

  test('refusals: bad amounts, a repeated out_trade_no with other content, an unknown buyer', async () => {
    for (const bad of ['0', '0.001', '100000000.01', 'abc']) {
      const r = await sdk.exec('alipay.trade.create', { bizContent: { outTradeNo: outNo('bad'), totalAmount: bad, subject: 's', buyerId } }, { validateSign: true });
      assert.equal(r.code, '40002', bad);
    }
    const no = outNo('dup');
    assert.equal((await sdk.exec('alipay.trade.create', { bizContent: { outTradeNo: no, totalAmount: '1.00', subject: 's', buyerId } }, { validateSign: true })).code, '10000');
    const again = await sdk.exec('alipay.trade.create', { bizContent: { outTradeNo: no, totalAmount: '1.00', subject: 's', buyerId } }, { validateSign: true });
    assert.equal(again.code, '10000', 'an identical repeat is the same trade');
    const other = await sdk.exec('alipay.trade.create', { bizContent: { outTradeNo: no, totalAmount: '2.00', subject: 's', buyerId } }, { validateSign: true });
    assert.equal(other.subCode, 'ACQ.CONTEXT_INCONSISTENT');
    const nobody = await sdk.exec('alipay.trade.create', { bizContent: { outTradeNo: outNo('nobody'), totalAmount: '1.00', subject: 's', buyerId: newId() } }, { validateSign: true });
    assert.equal(nobody.subCode, 'ACQ.BUYER_NOT_EXIST');
    const missing = await sdk.exec('alipay.trade.create', { bizContent: { outTradeNo: outNo('m'), subject: 's', buyerId } }, { validateSign: true });
    assert.equal(missing.code, '40001');
  });
});

describe('precreate and page.pay', () => {
  test('v2 precreate: no trade until scanned; the scan pays; query and the notification say TRADE_SUCCESS', async () => {
    const no = outNo('pre');
    const pre = await sdk.exec('alipay.trade.precreate', { notifyUrl: `${receiver.url}/pre`, bizContent: { outTradeNo: no, totalAmount: '12.34', subject: 'QR' } }, { validateSign: true });
    assert.equal(pre.code, '10000');
    assert.match(pre.qrCode, /\/alipay\/qr\/[0-9a-f-]{36}$/);
    assert.equal((await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: no } }, { validateSign: true })).subCode, 'ACQ.TRADE_NOT_EXIST');
    const shown = (await (await fetch(pre.qrCode)).json()) as Record<string, string>;
    assert.equal(shown.total_amount, '12.34');
    const before = await balance(buyerId);
    const scan = await fetch(`${pre.qrCode}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth_code: await paymentCode(buyerId) }) });
    assert.equal(scan.status, 200, await scan.clone().text());
    assert.equal(before - (await balance(buyerId)), 1234n);
    const queried = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: no } }, { validateSign: true });
    assert.equal(queried.tradeStatus, 'TRADE_SUCCESS');
    assert.equal(queried.receiptAmount, '12.34');
    assert.match(queried.sendPayDate, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const [note] = await receiver.waitFor('/pre', 1);
    assert.ok(sdk.checkNotifySign(note!), 'the SDK verifies the notification');
    assert.equal(note!.trade_status, 'TRADE_SUCCESS');
    assert.equal(note!.out_trade_no, no);
    assert.equal(note!.total_amount, '12.34');
    assert.equal(note!.app_id, bed.appId);
    assert.equal(note!.notify_type, 'trade_status_sync');
    assert.equal(note!.sign_type, 'RSA2');
    // A forged field breaks it.
    assert.equal(sdk.checkNotifySign({ ...note!, total_amount: '99.99' }), false);
  });

  test('v3 precreate, a closed precreate cannot be paid', async () => {
    const no = outNo('pre3');
    const pre = await v3('/v3/alipay/trade/precreate', { out_trade_no: no, total_amount: '0.01', subject: 'QR3' });
    assert.match(pre.qr_code!, /\/alipay\/qr\//);
    assert.equal((await v3('/v3/alipay/trade/close', { out_trade_no: no })).out_trade_no, no);
    const scan = await fetch(`${pre.qr_code}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth_code: await paymentCode(buyerId) }) });
    assert.equal(scan.status, 400);
    assert.equal(((await scan.json()) as { code: string }).code, 'ACQ.TRADE_HAS_CLOSE');
  });

  test('page.pay: the SDK-built form sends the browser to the order', async () => {
    const url = sdk.pageExecute('alipay.trade.page.pay', 'GET', { bizContent: { outTradeNo: outNo('page'), totalAmount: '5.00', subject: 'page', productCode: 'FAST_INSTANT_TRADE_PAY' } });
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.match(response.headers.get('location')!, /\/alipay\/qr\/[0-9a-f-]{36}$/);
  });
});

describe('pay at the till (bar_code)', () => {
  test('v2 and v3: a member payment code pays from balance; an invalid code is refused', async () => {
    const no = outNo('bar');
    const paid = await sdk.exec('alipay.trade.pay', { bizContent: { outTradeNo: no, scene: 'bar_code', authCode: await paymentCode(buyerId), totalAmount: '1.00', subject: 'till' } }, { validateSign: true });
    assert.equal(paid.code, '10000', JSON.stringify(paid));
    assert.equal(paid.totalAmount, '1.00');
    assert.equal(paid.buyerUserId, buyerId);
    const again = await sdk.exec('alipay.trade.pay', { bizContent: { outTradeNo: no, scene: 'bar_code', authCode: 'whatever', totalAmount: '1.00', subject: 'till' } }, { validateSign: true });
    assert.equal(again.code, '10000', 'a retried pay of a paid trade answers as the first');
    const v3paid = await v3('/v3/alipay/trade/pay', { out_trade_no: outNo('bar3'), scene: 'bar_code', auth_code: await paymentCode(buyerId), total_amount: '0.01', subject: 'till3' });
    assert.equal(v3paid.total_amount, '0.01');
    const bad = await sdk.exec('alipay.trade.pay', { bizContent: { outTradeNo: outNo('bad'), scene: 'bar_code', authCode: '123456789012345678', totalAmount: '1.00', subject: 'x' } }, { validateSign: true });
    assert.equal(bad.subCode, 'ACQ.PAYMENT_AUTH_CODE_INVALID');
    const poor = await sdk.exec('alipay.trade.pay', { bizContent: { outTradeNo: outNo('poor'), scene: 'bar_code', authCode: await paymentCode(payeeId), totalAmount: '1.00', subject: 'x' } }, { validateSign: true });
    assert.equal(poor.subCode, 'ACQ.BUYER_BALANCE_NOT_ENOUGH');
  });
});

async function paidTrade(amount: string, notifyUrl?: string): Promise<{ outTradeNo: string; tradeNo: string }> {
  const no = outNo('paid');
  const paid = await sdk.exec('alipay.trade.pay', { ...(notifyUrl ? { notifyUrl } : {}), bizContent: { outTradeNo: no, scene: 'bar_code', authCode: await paymentCode(buyerId), totalAmount: amount, subject: 'refundable' } }, { validateSign: true });
  assert.equal(paid.code, '10000', JSON.stringify(paid));
  return { outTradeNo: no, tradeNo: paid.tradeNo };
}

describe('refunds', () => {
  test('v2: partial refunds by out_request_no, a repeat changes nothing, too much is refused, refund query', async () => {
    const trade = await paidTrade('1.00');
    const first = await sdk.exec('alipay.trade.refund', { bizContent: { outTradeNo: trade.outTradeNo, refundAmount: '0.30', outRequestNo: 'r1' } }, { validateSign: true });
    assert.equal(first.code, '10000', JSON.stringify(first));
    assert.equal(first.fundChange, 'Y');
    assert.equal(first.refundFee, '0.30');
    const repeat = await sdk.exec('alipay.trade.refund', { bizContent: { outTradeNo: trade.outTradeNo, refundAmount: '0.30', outRequestNo: 'r1' } }, { validateSign: true });
    assert.equal(repeat.fundChange, 'N');
    assert.equal(repeat.refundFee, '0.30');
    const second = await sdk.exec('alipay.trade.refund', { bizContent: { tradeNo: trade.tradeNo, refundAmount: '0.20', outRequestNo: 'r2' } }, { validateSign: true });
    assert.equal(second.refundFee, '0.50');
    const tooMuch = await sdk.exec('alipay.trade.refund', { bizContent: { outTradeNo: trade.outTradeNo, refundAmount: '0.51', outRequestNo: 'r3' } }, { validateSign: true });
    assert.equal(tooMuch.subCode, 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL');
    const reused = await sdk.exec('alipay.trade.refund', { bizContent: { outTradeNo: trade.outTradeNo, refundAmount: '0.10', outRequestNo: 'r1' } }, { validateSign: true });
    assert.equal(reused.subCode, 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL');
    const q = await sdk.exec('alipay.trade.fastpay.refund.query', { bizContent: { outTradeNo: trade.outTradeNo, outRequestNo: 'r2' } }, { validateSign: true });
    assert.equal(q.code, '10000');
    assert.equal(q.refundStatus, 'REFUND_SUCCESS');
    assert.equal(q.refundAmount, '0.20');
    const none = await sdk.exec('alipay.trade.fastpay.refund.query', { bizContent: { outTradeNo: trade.outTradeNo, outRequestNo: 'nope' } }, { validateSign: true });
    assert.equal(none.code, '10000');
    assert.equal(none.refundStatus, undefined);
    const query = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: trade.outTradeNo } }, { validateSign: true });
    assert.equal(query.tradeStatus, 'TRADE_SUCCESS');
    const unpaid = outNo('unpaid');
    await sdk.exec('alipay.trade.create', { bizContent: { outTradeNo: unpaid, totalAmount: '1.00', subject: 's', buyerId } }, { validateSign: true });
    const early = await sdk.exec('alipay.trade.refund', { bizContent: { outTradeNo: unpaid, refundAmount: '1.00' } }, { validateSign: true });
    assert.equal(early.subCode, 'ACQ.TRADE_STATUS_ERROR');
  });

  test('v3: refund and refund query; the full refund closes the trade and is notified', async () => {
    const trade = await paidTrade('0.50', `${receiver.url}/refund3`);
    const refund = await v3('/v3/alipay/trade/refund', { out_trade_no: trade.outTradeNo, refund_amount: '0.50', out_request_no: 'all' });
    assert.equal(refund.fund_change, 'Y');
    assert.equal(refund.refund_fee, '0.50');
    const q = await v3('/v3/alipay/trade/fastpay/refund/query', { out_trade_no: trade.outTradeNo, out_request_no: 'all' });
    assert.equal(q.refund_status, 'REFUND_SUCCESS');
    assert.equal((await v3('/v3/alipay/trade/query', { out_trade_no: trade.outTradeNo })).trade_status, 'TRADE_CLOSED');
    const notes = await receiver.waitFor('/refund3', 2);
    for (const note of notes) assert.ok(sdk.checkNotifySign(note));
    // Each notification is delivered (and retried) on its own: they may arrive in either order.
    assert.deepEqual(notes.map((n) => n.trade_status).sort(), ['TRADE_CLOSED', 'TRADE_SUCCESS']);
    const closed = notes.find((n) => n.trade_status === 'TRADE_CLOSED')!;
    assert.equal(closed.refund_fee, '0.50');
    assert.match(closed.gmt_refund!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(receiver.received.filter((r) => r.path === '/refund3').length, 2, 'the refund that closed the trade is told once');
    const missing = await v3Failure('/v3/alipay/trade/refund', { out_trade_no: 'no-such', refund_amount: '1.00' });
    assert.equal(missing.code, 'ACQ.TRADE_NOT_EXIST');
  });
});

describe('cancel', () => {
  test('v2: cancel closes an unpaid trade and refunds a paid one', async () => {
    const unpaid = outNo('cancel');
    await sdk.exec('alipay.trade.create', { bizContent: { outTradeNo: unpaid, totalAmount: '1.00', subject: 's', buyerId } }, { validateSign: true });
    const closed = await sdk.exec('alipay.trade.cancel', { bizContent: { outTradeNo: unpaid } }, { validateSign: true });
    assert.equal(closed.action, 'close');
    assert.equal(closed.retryFlag, 'N');
    const trade = await paidTrade('2.00');
    const before = await balance(buyerId);
    const refunded = await sdk.exec('alipay.trade.cancel', { bizContent: { outTradeNo: trade.outTradeNo } }, { validateSign: true });
    assert.equal(refunded.code, '10000');
    assert.equal(refunded.action, 'refund');
    assert.equal((await balance(buyerId)) - before, 200n);
    assert.equal((await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: trade.outTradeNo } }, { validateSign: true })).tradeStatus, 'TRADE_CLOSED');
  });

  test('v3: cancel', async () => {
    const trade = await paidTrade('0.01');
    assert.equal((await v3('/v3/alipay/trade/cancel', { out_trade_no: trade.outTradeNo })).action, 'refund');
  });
});

describe('transfer', () => {
  test('v2 and v3: from the app merchant to a member; out_biz_no is idempotent', async () => {
    await paidTrade('3.00'); // the merchant member now holds money
    const before = await balance(payeeId);
    const bizNo = outNo('tr');
    const body = { outBizNo: bizNo, transAmount: '1.00', productCode: 'TRANS_ACCOUNT_NO_PWD', bizScene: 'DIRECT_TRANSFER', orderTitle: 'bonus', payeeInfo: { identity: payeeId, identityType: 'ALIPAY_USER_ID' } };
    const first = await sdk.exec('alipay.fund.trans.uni.transfer', { bizContent: body }, { validateSign: true });
    assert.equal(first.code, '10000', JSON.stringify(first));
    assert.equal(first.status, 'SUCCESS');
    const again = await sdk.exec('alipay.fund.trans.uni.transfer', { bizContent: body }, { validateSign: true });
    assert.equal(again.orderId, first.orderId);
    assert.equal((await balance(payeeId)) - before, 100n);
    const v3t = await v3('/v3/alipay/fund/trans/uni/transfer', { out_biz_no: outNo('tr3'), trans_amount: '0.01', product_code: 'TRANS_ACCOUNT_NO_PWD', biz_scene: 'DIRECT_TRANSFER', payee_info: { identity: payeeId, identity_type: 'ALIPAY_USER_ID' } });
    assert.equal(v3t.status, 'SUCCESS');
    const unknown = await sdk.exec('alipay.fund.trans.uni.transfer', { bizContent: { ...body, outBizNo: outNo('tr'), payeeInfo: { identity: newId(), identityType: 'ALIPAY_USER_ID' } } }, { validateSign: true });
    assert.equal(unknown.subCode, 'PAYEE_NOT_EXIST');
    const tooMuch = await sdk.exec('alipay.fund.trans.uni.transfer', { bizContent: { ...body, outBizNo: outNo('tr'), transAmount: '1000.00' } }, { validateSign: true });
    assert.equal(tooMuch.subCode, 'PAYER_BALANCE_NOT_ENOUGH');
  });
});

describe('transfer to a card', () => {
  test('v2: a payee card (by id) gets the money through a payout; the repeat reports the result', async () => {
    await paidTrade('2.00');
    const cardId = newId();
    // An active bound card, as the member subsystem keeps one after SMS verification.
    await bed.platform.databases
      .get<any>('member')
      .insertInto('member.card')
      .values({ id: cardId, member_id: payeeId, client_id: bed.clientId, bank: 'alpha', last4: '0000', card_hash: `h-${cardId}`, sign_id: newId(), agreement: newId(), status: 'active', verified_at: new Date() })
      .execute();
    const before = await balance(payeeId);
    const body = { outBizNo: outNo('card'), transAmount: '0.50', productCode: 'TRANS_ACCOUNT_NO_PWD', bizScene: 'DIRECT_TRANSFER', payeeInfo: { identity: cardId, identityType: 'BANKCARD_ACCOUNT', name: 'Payee' } };
    const first = await sdk.exec('alipay.fund.trans.uni.transfer', { bizContent: body }, { validateSign: true });
    assert.equal(first.code, '10000', JSON.stringify(first));
    assert.ok(['DEALING', 'SUCCESS'].includes(first.status));
    const deadline = Date.now() + 5_000;
    let last = first;
    while (last.status !== 'SUCCESS' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      last = await sdk.exec('alipay.fund.trans.uni.transfer', { bizContent: body }, { validateSign: true });
    }
    assert.equal(last.status, 'SUCCESS');
    assert.equal(last.orderId, first.orderId);
    const payouts = channel.byService('payout');
    assert.equal(payouts.length, 1);
    assert.equal(payouts[0]!.amount, 50n);
    assert.equal(await balance(payeeId), before, 'in through the transfer, out through the payout');
    const noCard = await sdk.exec('alipay.fund.trans.uni.transfer', { bizContent: { ...body, outBizNo: outNo('card'), payeeInfo: { identity: newId(), identityType: 'BANKCARD_ACCOUNT' } } }, { validateSign: true });
    assert.equal(noCard.subCode, 'PAYEE_CARD_INFO_ERROR');
  });
});

describe('bill download', () => {
  test('v2 and v3: a signed URL to the day CSV with exact amounts; a tampered URL is refused', async () => {
    const trade = await paidTrade('99.99');
    const day = formatAlipayTime(new Date(), 'Asia/Shanghai').slice(0, 10);
    const result = await sdk.exec('alipay.data.dataservice.bill.downloadurl.query', { bizContent: { billType: 'trade', billDate: day } }, { validateSign: true });
    assert.equal(result.code, '10000');
    const csv = await (await fetch(result.billDownloadUrl)).text();
    const line = csv.split('\r\n').find((l) => l.includes(trade.outTradeNo));
    assert.ok(line, csv);
    assert.match(line, new RegExp(`^${trade.tradeNo},${trade.outTradeNo},refundable,TRADE_SUCCESS,99\\.99,99\\.99,0\\.00,`));
    const tampered = result.billDownloadUrl.replace(/bill_date=[^&]+/, 'bill_date=2020-01-01');
    assert.equal((await fetch(tampered)).status, 403);
    const { data } = await sdk.curl<{ bill_download_url: string }>('GET', '/v3/alipay/data/dataservice/bill/downloadurl/query', { query: { bill_type: 'trade', bill_date: day } });
    assert.equal((await fetch(data.bill_download_url)).status, 200);
    const wrongType = await sdk.exec('alipay.data.dataservice.bill.downloadurl.query', { bizContent: { billType: 'signcustomer', billDate: day } }, { validateSign: true });
    assert.equal(wrongType.code, '40002');
    assert.equal(defaults.alipay.billUrlTtlMs, 30_000);
  });
});

describe('the books', () => {
  test('after all of the above, the ledger balances and nothing is below its floor', async () => {
    const { ledger } = bed.platform.runtime;
    await ledger.fold();
    const report = await ledger.check();
    assert.ok(report.balanced);
    assert.deepEqual(report.negative_accounts, []);
  });
});

describe('notifications', () => {
  test('retried until the literal success, with the same notify_id and a fresh signature; WAIT_BUYER_PAY never sent', async () => {
    assert.deepEqual(defaults.alipay.notifyScheduleMs, [240_000, 600_000, 600_000, 3_600_000, 7_200_000, 21_600_000, 54_000_000]);
    let tries = 0;
    receiver.reply = () => (receiver.received.at(-1)!.path === '/retry' && ++tries < 3 ? (tries === 1 ? 'fail' : 'SUCCESS!') : 'success');
    const no = outNo('retry');
    await sdk.exec('alipay.trade.create', { notifyUrl: `${receiver.url}/retry`, bizContent: { outTradeNo: no, totalAmount: '1.00', subject: 's', buyerId } }, { validateSign: true });
    await sdk.exec('alipay.trade.close', { bizContent: { outTradeNo: no } }, { validateSign: true });
    const notes = await receiver.waitFor('/retry', 3);
    assert.equal(new Set(notes.map((n) => n.notify_id)).size, 1, 'one notify_id for every try');
    for (const note of notes) {
      assert.ok(sdk.checkNotifySign(note));
      assert.equal(note.trade_status, 'TRADE_CLOSED');
    }
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(receiver.received.filter((r) => r.path === '/retry').length, 3, 'acknowledged: no more tries');
    const contentType = receiver.received.find((r) => r.path === '/retry')!.contentType;
    assert.match(contentType!, /^application\/x-www-form-urlencoded/);
  });
});
