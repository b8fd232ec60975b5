/**
 * Alipay gateway tests: the whole platform listening on 127.0.0.1, an app created the way the
 * CLI does, and the official alipay-sdk configured against it exactly as a merchant would.
 */
import { generateKeyPairSync } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { startTestPlatform, type TestPlatform, type TestPlatformOptions } from '../support/platform.js';

export interface MerchantKeys {
  readonly privateKey: string;
  readonly publicKey: string;
}

/** A merchant's RSA2 key pair, as the Alipay key tool makes it (PKCS#1 private key, SPKI public key). */
export function merchantKeys(): MerchantKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privateKey, publicKey };
}

export interface AlipayTestbed {
  readonly platform: TestPlatform;
  readonly baseUrl: string;
  readonly appId: string;
  readonly clientId: string;
  readonly platformPublicKey: string;
  readonly keys: MerchantKeys;
  /** The SDK as the merchant configures it: its key, our public key, our URLs. */
  sdk(overrides?: { privateKey?: string; alipayPublicKey?: string }): AlipaySdk;
  close(): Promise<void>;
}

export async function startAlipayTestbed(options: TestPlatformOptions = {}): Promise<AlipayTestbed> {
  const platform = await startTestPlatform({ label: 'alipay', ...options });
  await platform.runtime.http.listen({ port: 0, host: '127.0.0.1' });
  const { port } = platform.runtime.http.server.address() as { port: number };
  const baseUrl = `http://127.0.0.1:${port}`;
  const keys = merchantKeys();
  const created = await platform.runtime.alipay.apps.create({ name: 'shop', merchantPublicKey: keys.publicKey });
  if (!created.ok) throw new Error('app not created');
  const app = created.app;
  return {
    platform,
    baseUrl,
    appId: app.app_id,
    clientId: app.client_id,
    platformPublicKey: app.platform_public_key,
    keys,
    sdk: (overrides = {}) =>
      new AlipaySdk({
        appId: app.app_id,
        privateKey: overrides.privateKey ?? keys.privateKey,
        alipayPublicKey: overrides.alipayPublicKey ?? app.platform_public_key,
        gateway: `${baseUrl}/gateway.do`,
        endpoint: baseUrl,
        timeout: 10_000,
      }),
    close: () => platform.close(),
  };
}

/** A merchant's notify endpoint: records each POST's form parameters, answers what `reply` says. */
export interface NotifyReceiver {
  readonly url: string;
  readonly received: Array<{ path: string; contentType: string | undefined; params: Record<string, string> }>;
  reply: (index: number) => string;
  /** Waits until `count` notifications for `path` arrived (bounded). */
  waitFor(path: string, count: number, timeoutMs?: number): Promise<Array<Record<string, string>>>;
  close(): Promise<void>;
}

export async function startNotifyReceiver(): Promise<NotifyReceiver> {
  const http = await import('node:http');
  const received: NotifyReceiver['received'] = [];
  const receiver: NotifyReceiver & { url: string } = {
    url: '',
    received,
    reply: (_index: number) => 'success',
    async waitFor(path: string, count: number, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mine = received.filter((r) => r.path === path).map((r) => r.params);
        if (mine.length >= count) return mine;
        if (Date.now() > deadline) throw new Error(`waited for ${count} notifications on ${path}, got ${mine.length}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // What a merchant's framework hands its code: the form, decoded once.
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      received.push({ path: req.url ?? '/', contentType: req.headers['content-type'], params });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(receiver.reply(received.length - 1));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  receiver.url = `http://127.0.0.1:${port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
