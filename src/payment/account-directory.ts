/** The platform's well-known ledger accounts, opened on first use (opening twice returns the first). */
import { strict as assert } from 'node:assert';
import type { Ledger, OpenAccountInput } from '../ledger/index.js';

export class AccountDirectory {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(private readonly ledger: Ledger) {}

  private open(input: OpenAccountInput & { code: string }): Promise<string> {
    let id = this.cache.get(input.code);
    if (!id) {
      id = this.ledger.openAccount(input).then((result) => {
        assert(result.ok, `cannot open ${input.code}: ${result.ok ? '' : result.error}`);
        return result.account.id;
      });
      id.catch(() => this.cache.delete(input.code));
      this.cache.set(input.code, id);
    }
    return id;
  }

  /** Escrow trades' money between payment and confirmation. */
  escrow(currency = 'CNY'): Promise<string> {
    return this.open({ type: 'platform', currency, code: `platform:escrow:${currency}`, floor: 0n });
  }

  /** The marketing budget: the unused rest of a coupon goes back here. */
  marketing(currency = 'CNY'): Promise<string> {
    return this.open({ type: 'platform', currency, code: `platform:marketing:${currency}`, floor: null });
  }

  /** What a bank owes us (a receivable: negative is normal); buffered, it is every card payment's hot spot. */
  channel(bank: string, currency = 'CNY'): Promise<string> {
    return this.open({ type: 'internal', currency, code: `channel:${bank}:${currency}`, floor: null, hot: 'buffered' });
  }
}
