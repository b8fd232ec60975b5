/**
 * The gateway's protocol layer against the official alipay-sdk: app creation by the CLI, v2
 * request verification and response signing, stale timestamps, v3 authorization and response
 * headers, Alipay-shaped errors, and the exact conversions (amounts, Beijing wall-clock times).
 */
// The merchant in these tests runs in China, as alipay-sdk assumes: it writes local wall-clock times.
process.env.TZ = 'Asia/Shanghai';

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AlipayRequestError } from 'alipay-sdk';
import { formatAlipayTime, parseAlipayTime, parseYuan, formatYuan } from '../../src/alipay/index.js';
import { paycoreBin, repoRoot, childEnv } from '../support/process.js';
import { merchantKeys, startAlipayTestbed, type AlipayTestbed } from './alipay-support.js';

let bed: AlipayTestbed;

before(async () => {
  bed = await startAlipayTestbed();
});
after(async () => {
  await bed?.close();
});

describe('conversions', () => {
  test('yuan amounts are exact both ways, strings and JSON numbers alike', () => {
    const max = 10_000_000_000n;
    assert.deepEqual(parseYuan('0.01', max), { ok: true, amount: 1n });
    assert.deepEqual(parseYuan('99999999.99', max), { ok: true, amount: 9_999_999_999n });
    assert.deepEqual(parseYuan(99999999.99, max), { ok: true, amount: 9_999_999_999n });
    assert.deepEqual(parseYuan(0.01, max), { ok: true, amount: 1n });
    assert.deepEqual(parseYuan(0.1 + 0.2, max), { ok: false, reason: 'malformed' }); // 0.30000000000000004
    assert.deepEqual(parseYuan('100000000.00', max), { ok: true, amount: max });
    assert.deepEqual(parseYuan('100000000.01', max), { ok: false, reason: 'out_of_range' });
    assert.deepEqual(parseYuan('0', max), { ok: false, reason: 'out_of_range' });
    for (const bad of ['1.001', '-1', '1e3', ' ', 'abc', '1,00', '.5']) assert.equal(parseYuan(bad, max).ok, false, bad);
    assert.equal(formatYuan(1n), '0.01');
    assert.equal(formatYuan(9_999_999_999n), '99999999.99');
  });

  test('wall-clock times are Beijing time by default, written back the same way', () => {
    const instant = parseAlipayTime('2024-02-29 23:59:59', 'Asia/Shanghai');
    assert.equal(instant, Date.UTC(2024, 1, 29, 15, 59, 59));
    assert.equal(formatAlipayTime(new Date(instant!), 'Asia/Shanghai'), '2024-02-29 23:59:59');
    assert.equal(parseAlipayTime('2023-02-29 00:00:00', 'Asia/Shanghai'), undefined);
    assert.equal(parseAlipayTime('2024-01-01T00:00:00', 'Asia/Shanghai'), undefined);
    assert.equal(parseAlipayTime('2024-01-01 24:00:00', 'Asia/Shanghai'), undefined);
  });
});

describe('apps', () => {
  test('paycore alipay-app create prints the app id and the platform public key once', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-key-'));
    const file = path.join(dir, 'merchant_public_key.pem');
    fs.writeFileSync(file, merchantKeys().publicKey);
    const databaseUrl = bed.platform.databases.url('alipay');
    const run = spawnSync(process.execPath, [paycoreBin, 'alipay-app', 'create', '--name', 'cli-shop', '--merchant-public-key', file, '--json'], {
      cwd: repoRoot,
      env: childEnv({ DATABASE_URL: databaseUrl }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const printed = JSON.parse(run.stdout) as { app_id: string; platform_public_key: string };
    assert.match(printed.app_id, /^2021\d{12}$/);
    assert.match(printed.platform_public_key, /^-----BEGIN PUBLIC KEY-----\n/);
    const bad = path.join(dir, 'bad.pem');
    fs.writeFileSync(bad, 'not a key');
    const refused = spawnSync(process.execPath, [paycoreBin, 'alipay-app', 'create', '--name', 'x', '--merchant-public-key', bad], {
      cwd: repoRoot,
      env: childEnv({ DATABASE_URL: databaseUrl }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(refused.status, 2);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('keys as merchants hold them', () => {
  test('a bare base64 public key (the console format) and a PKCS#8 private key (keyType PKCS8) work', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { AlipaySdk } = await import('alipay-sdk');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const created = await bed.platform.runtime.alipay.apps.create({ name: 'b64', merchantPublicKey: publicKey.toString('base64') });
    assert.ok(created.ok);
    // The SDK takes keys without their PEM armour too.
    const bare = privateKey.replace(/-----[A-Z ]+-----|\n/g, '');
    const sdk = new AlipaySdk({ appId: created.app.app_id, privateKey: bare, keyType: 'PKCS8', alipayPublicKey: created.app.platform_public_key, gateway: `${bed.baseUrl}/gateway.do`, endpoint: bed.baseUrl });
    const result = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: 'x' } }, { validateSign: true });
    assert.equal(result.subCode, 'ACQ.TRADE_NOT_EXIST');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    assert.deepEqual(await bed.platform.runtime.alipay.apps.create({ name: 'weak', merchantPublicKey: small.publicKey }), { ok: false, reason: 'invalid_public_key' });
  });
});

describe('v2 /gateway.do', () => {
  test('a verified request gets a signed answer; Alipay error codes for an unknown trade', async () => {
    const result = await bed.sdk().exec('alipay.trade.query', { bizContent: { outTradeNo: 'no-such-trade' } }, { validateSign: true });
    assert.equal(result.code, '40004');
    assert.equal(result.msg, 'Business Failed');
    assert.equal(result.subCode, 'ACQ.TRADE_NOT_EXIST');
  });

  test('a forged signature is 40002 isv.invalid-signature', async () => {
    const forger = bed.sdk({ privateKey: merchantKeys().privateKey });
    const result = await forger.exec('alipay.trade.query', { bizContent: { outTradeNo: 'x' } }, { validateSign: true });
    assert.equal(result.code, '40002');
    assert.equal(result.subCode, 'isv.invalid-signature');
  });

  test('a tampered parameter breaks the signature', async () => {
    const sdk = bed.sdk();
    // Sign one biz_content, send another: the SDK's signed parameters, edited on the way.
    const { sign } = await import('../../node_modules/alipay-sdk/dist/esm/util.js' as string);
    const params = sign('alipay.trade.query', { bizContent: { out_trade_no: 'a' } }, sdk.config) as Record<string, string>;
    params.biz_content = JSON.stringify({ out_trade_no: 'b' });
    const response = await fetch(`${bed.baseUrl}/gateway.do`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' }, body: new URLSearchParams(params).toString() });
    const body = (await response.json()) as Record<string, Record<string, string>>;
    assert.equal(body.alipay_trade_query_response!.sub_code, 'isv.invalid-signature');
  });

  test('a stale timestamp is refused, a fresh one in Beijing time accepted', async () => {
    const sdk = bed.sdk();
    const stale = await sdk.exec('alipay.trade.query', { timestamp: '2020-01-01 00:00:00', bizContent: { outTradeNo: 'x' } }, { validateSign: true });
    assert.equal(stale.code, '40002');
    assert.equal(stale.subCode, 'isv.invalid-timestamp');
    // A merchant clock eight hours off (a server writing UTC wall time) is stale too.
    const utcWall = new Date().toISOString().slice(0, 19).replace('T', ' ');
    const utc = await sdk.exec('alipay.trade.query', { timestamp: utcWall, bizContent: { outTradeNo: 'x' } }, { validateSign: true });
    assert.equal(utc.subCode, 'isv.invalid-timestamp');
    const beijing = formatAlipayTime(new Date(), 'Asia/Shanghai');
    const fresh = await sdk.exec('alipay.trade.query', { timestamp: beijing, bizContent: { outTradeNo: 'x' } }, { validateSign: true });
    assert.equal(fresh.subCode, 'ACQ.TRADE_NOT_EXIST');
  });

  test('missing and unknown parameters are 40001 / 40002', async () => {
    const post = async (params: Record<string, string>) => {
      const response = await fetch(`${bed.baseUrl}/gateway.do?${new URLSearchParams(params)}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      assert.equal(response.status, 200);
      return (await response.json()) as Record<string, Record<string, string>>;
    };
    assert.equal((await post({ app_id: bed.appId })).error_response!.code, '40001');
    assert.equal((await post({ method: 'alipay.trade.query', app_id: bed.appId, sign_type: 'RSA2', timestamp: '2024-01-01 00:00:00' })).alipay_trade_query_response!.sub_code, 'isv.missing-signature');
    assert.equal((await post({ method: 'alipay.trade.query', app_id: '2021999999999999', sign: 'x' })).alipay_trade_query_response!.sub_code, 'isv.invalid-app-id');
    const unknown = await bed.sdk().exec('alipay.no.such.method', { bizContent: {} }, { validateSign: true });
    assert.equal(unknown.subCode, 'isv.invalid-method');
  });
});

describe('v3 /v3/alipay/...', () => {
  test('errors are HTTP statuses with {code, message}; a forged signature is 401', async () => {
    await assert.rejects(bed.sdk().curl('POST', '/v3/alipay/trade/query', { body: { out_trade_no: 'none' } }), (error: AlipayRequestError) => {
      assert.equal(error.responseHttpStatus, 404);
      assert.equal(error.code, 'ACQ.TRADE_NOT_EXIST');
      assert.ok(error.responseHttpHeaders?.['alipay-signature']);
      return true;
    });
    await assert.rejects(bed.sdk({ privateKey: merchantKeys().privateKey }).curl('POST', '/v3/alipay/trade/query', { body: { out_trade_no: 'none' } }), (error: AlipayRequestError) => {
      assert.equal(error.responseHttpStatus, 401);
      assert.equal(error.code, 'isv.invalid-signature');
      return true;
    });
  });

  test('a stale v3 timestamp is refused', async () => {
    const realNow = Date.now;
    Date.now = () => realNow() - 3_600_000;
    // The SDK builds its authorization synchronously, before its first await.
    const call = bed.sdk().curl('POST', '/v3/alipay/trade/query', { body: { out_trade_no: 'none' } });
    Date.now = realNow;
    await assert.rejects(call, (error: AlipayRequestError) => {
      assert.equal(error.code, 'isv.invalid-timestamp');
      return true;
    });
  });

  test('a replayed v3 request (same nonce) is refused', async () => {
    const { signatureV3 } = await import('../../node_modules/alipay-sdk/dist/esm/util.js' as string);
    const body = JSON.stringify({ out_trade_no: 'none' });
    const auth = `app_id=${bed.appId},nonce=${crypto.randomUUID()},timestamp=${Date.now()}`;
    const sign = signatureV3(`${auth}\nPOST\n/v3/alipay/trade/query\n${body}\n`, bed.keys.privateKey) as string;
    const send = () =>
      fetch(`${bed.baseUrl}/v3/alipay/trade/query`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `ALIPAY-SHA256withRSA ${auth},sign=${sign}` }, body });
    const first = await send();
    assert.equal(first.status, 404, 'the signature verified; the trade is unknown');
    const replay = await send();
    assert.equal(replay.status, 400);
    assert.equal(((await replay.json()) as { code: string }).code, 'isv.invalid-nonce');
  });

  test('a GET with a query string is verified over path and query', async () => {
    const day = formatAlipayTime(new Date(), 'Asia/Shanghai').slice(0, 10);
    const { data } = await bed.sdk().curl<{ bill_download_url: string }>('GET', '/v3/alipay/data/dataservice/bill/downloadurl/query', { query: { bill_type: 'trade', bill_date: day } });
    assert.match(data.bill_download_url, /\/alipay\/bill\?/);
  });
});
