/**
 * The load generator of bench/pay.bench.ts, in a process of its own (like pgbench is): a fixed
 * number of callers create and pay instant trades over HTTP for a fixed time, then print one JSON
 * line with the count, the failures and every payment's latency.
 */
import http from 'node:http';

interface Input {
  readonly port: number;
  readonly key: string;
  readonly buyers: string[];
  readonly sellers: string[];
  readonly concurrency: number;
  readonly seconds: number;
}

const input = JSON.parse(process.argv[2]!) as Input;
const agent = new http.Agent({ keepAlive: true, maxSockets: input.concurrency * 2 });

function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: input.port, path: url, method: 'POST', agent, headers: { authorization: `Bearer ${input.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

const result = { payments: 0, failures: 0, latenciesMs: [] as number[], payLatenciesMs: [] as number[], firstFailure: undefined as unknown };
const deadline = Date.now() + input.seconds * 1000;
let n = 0;

async function caller(index: number): Promise<void> {
  while (Date.now() < deadline) {
    n += 1;
    const buyer = input.buyers[(index + n * input.concurrency) % input.buyers.length]!;
    const seller = input.sellers[n % input.sellers.length]!;
    const started = performance.now();
    const created = await post('/v1/trades', { type: 'instant', out_trade_no: `B${process.pid}-${index}-${n}`, buyer_id: buyer, seller_id: seller, amount: 1 + (n % 5_000), subject: 'bench' });
    if (created.status !== 201) {
      result.failures += 1;
      result.firstFailure ??= created.body;
      continue;
    }
    const payStarted = performance.now();
    const paid = await post(`/v1/trades/${created.body.id}/pay`, { methods: [{ tool: 'balance' }] });
    const ended = performance.now();
    if (paid.status !== 200 || paid.body.status !== 'success') {
      result.failures += 1;
      result.firstFailure ??= paid.body;
      continue;
    }
    result.payments += 1;
    result.latenciesMs.push(Math.round((ended - started) * 100) / 100);
    result.payLatenciesMs.push(Math.round((ended - payStarted) * 100) / 100);
  }
}

await Promise.all(Array.from({ length: input.concurrency }, (_, i) => caller(i)));
agent.destroy();
process.stdout.write(JSON.stringify(result) + '\n');
