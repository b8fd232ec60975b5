/** A merchant's notify endpoint for tests: a local HTTP server on 127.0.0.1 that records every POST. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/** What to do with a request: answer with a status, or never answer ('hang'). */
export type Behaviour = (request: Received, index: number) => number | 'hang';

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Requests being answered right now, and the most there ever were, per path. */
  readonly inFlight: Map<string, number>;
  readonly maxInFlight: Map<string, number>;
  behaviour: Behaviour;
  /** Delay before answering, ms. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startReceiver(behaviour: Behaviour = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const receiver: Receiver = {
    url: '',
    received,
    inFlight,
    maxInFlight,
    behaviour,
    delayMs: 0,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const entry: Received = { path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(entry);
      const answer = receiver.behaviour(entry, received.length - 1);
      if (answer === 'hang') return; // the connection stays open until the caller gives up
      const now = (inFlight.get(path) ?? 0) + 1;
      inFlight.set(path, now);
      maxInFlight.set(path, Math.max(maxInFlight.get(path) ?? 0, now));
      setTimeout(() => {
        inFlight.set(path, (inFlight.get(path) ?? 1) - 1);
        res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'nope');
      }, receiver.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
