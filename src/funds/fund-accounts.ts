/** The ledger accounts the funds side posts to, opened on first use (opening twice returns the first). */
import { strict as assert } from 'node:assert';
import type { Ledger, OpenAccountInput } from '../ledger/index.js';

export class FundAccounts {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(private readonly ledger: Ledger) {}

  /** The account of a well-known code; the parameters match whoever else opens it. */
  idOf(code: string): Promise<string> {
    let id = this.cache.get(code);
    if (!id) {
      id = this.ledger.openAccount(openParams(code)).then((result) => {
        assert(result.ok, `cannot open ${code}: ${result.ok ? '' : result.error}`);
        return result.account.id;
      });
      id.catch(() => this.cache.delete(code));
      this.cache.set(code, id);
    }
    return id;
  }
}

function openParams(code: string): OpenAccountInput & { code: string } {
  const currency = code.split(':').at(-1)!;
  // Channel receivables are the payment core's hot accounts: opened the same way it opens them.
  if (code.startsWith('channel:')) return { type: 'internal', currency, code, floor: null, hot: 'buffered' };
  if (code.startsWith('platform:')) return { type: 'platform', currency, code, floor: null };
  return { type: 'internal', currency, code, floor: null };
}
