/** Paycore's side of the simulators' test-only admin surface (/sim/*), for the /v1/sandbox helpers. */
import type { BankEndpoints } from '../platform/index.js';

const simTimeoutMs = 3_000;
export const sandboxBanks = ['alpha', 'beta'] as const;

export type SimAnswer = { readonly ok: true; readonly status: number; readonly body: unknown } | { readonly ok: false };

export class SandboxBanks {
  constructor(private readonly banks: BankEndpoints) {}

  has(bank: string): bank is (typeof sandboxBanks)[number] {
    return (sandboxBanks as readonly string[]).includes(bank);
  }

  async call(bank: (typeof sandboxBanks)[number], path: string, body?: unknown): Promise<SimAnswer> {
    try {
      const response = await fetch(`${this.banks[bank].url}/sim${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(simTimeoutMs),
      });
      const text = await response.text();
      return { ok: true, status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
    } catch {
      return { ok: false };
    }
  }

  /** The newest SMS code any simulated bank sent to the phone. */
  async lastSms(phone: string): Promise<{ code: string; sentAt: string; bank: string } | undefined | 'unavailable'> {
    const answers = await Promise.all(sandboxBanks.map(async (bank) => ({ bank, answer: await this.call(bank, `/sms?phone=${encodeURIComponent(phone)}`) })));
    if (answers.every(({ answer }) => !answer.ok)) return 'unavailable';
    let best: { code: string; sentAt: string; bank: string } | undefined;
    for (const { bank, answer } of answers) {
      if (!answer.ok || answer.status !== 200) continue;
      const found = answer.body as { code: string; sent_at: string };
      if (!best || found.sent_at > best.sentAt) best = { code: found.code, sentAt: found.sent_at, bank };
    }
    return best;
  }
}
