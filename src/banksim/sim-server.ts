/**
 * The simulated bank as a process: node:http, the bank's service endpoint in its wire format,
 * and a test-only admin surface under /sim (behaviour, SMS codes, statements, transactions).
 * Listens on 127.0.0.1 only.
 */
import http from 'node:http';
import { alphaCodec } from './alpha.codec.js';
import { BankEngine } from './bank-engine.js';
import { bankProfiles, type BankName } from './bank-profile.js';
import { betaCodec } from './beta.codec.js';
import type { SimCodec } from './sim-codec.js';
import type { Txn } from './sim-model.js';
import { SimStore } from './sim-store.js';
import { handleAdmin } from './sim-admin.js';
import { readBody, sendJson } from './sim-http.js';

export interface BankSimOptions {
  readonly bank: BankName;
  readonly port: number;
  readonly host?: string;
  readonly dataDir: string;
  readonly secret: string;
  readonly networkKey: string;
  readonly callbackUrl: string | undefined;
  readonly log?: (message: string) => void;
}

export interface BankSim {
  readonly port: number;
  readonly engine: BankEngine;
  close(): Promise<void>;
}

/** A held request is dropped after this long: a dark bank must not pin sockets forever. */
const hangMaxMs = 120_000;
const callbackTimeoutMs = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startBankSim(options: BankSimOptions): Promise<BankSim> {
  const log = options.log ?? (() => undefined);
  const codec: SimCodec = options.bank === 'alpha' ? alphaCodec(options.secret) : betaCodec(options.secret);
  const store = new SimStore(options.dataDir);
  const sendCallback = async (url: string, txn: Txn): Promise<boolean> => {
    const message = codec.encodeCallback(txn);
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': message.contentType, ...message.headers }, body: message.body, signal: AbortSignal.timeout(callbackTimeoutMs) });
    return codec.acknowledged(response.status, await response.text());
  };
  const engine = new BankEngine({ bank: options.bank, store, networkKey: options.networkKey, defaultNotifyUrl: options.callbackUrl, sendCallback, log });
  const held = new Set<http.ServerResponse>();

  const hang = (res: http.ServerResponse): void => {
    held.add(res);
    const timer = setTimeout(() => res.destroy(), hangMaxMs);
    res.on('close', () => {
      clearTimeout(timer);
      held.delete(res);
    });
  };

  const service = async (req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> => {
    const raw = await readBody(req);
    if (engine.behaviour.down) return hang(res);
    const decoded = raw === undefined ? ({ ok: false, status: 400, reason: 'MALFORMED' } as const) : codec.decode(pathname, req.headers, raw);
    let message;
    if (!decoded.ok) message = codec.encodeRefusal(decoded.status, decoded.reason);
    else {
      const reply = engine.handle(decoded.request);
      await sleep(engine.latency());
      if (reply.result === 'HANG') return hang(res);
      message = codec.encodeReply(reply);
    }
    res.writeHead(message.status, { 'content-type': message.contentType, ...message.headers }).end(message.body);
  };

  const admin = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => handleAdmin(req, res, url, { bank: options.bank, dataDir: options.dataDir, engine, store });

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://bank');
    const route = codec.matches(url.pathname) && req.method === 'POST' ? service(req, res, url.pathname) : url.pathname.startsWith('/sim/') ? admin(req, res, url) : Promise.resolve(sendJson(res, 404, { error: 'not found' }));
    route.catch((error: unknown) => {
      log(`error: ${String(error)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  log(`bank ${options.bank} (${bankProfiles[options.bank].cardPrefixes.join(', ')}) listening on 127.0.0.1:${port}`);
  return {
    port,
    engine,
    async close() {
      engine.stop();
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      store.close();
    },
  };
}
