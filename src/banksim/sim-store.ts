/**
 * The bank's own storage: an append-only JSON-lines log under its data dir, replayed at start.
 * Every change is one line written before the bank answers, so a killed bank comes back with
 * every agreement, SMS and transaction it had accepted (last line per key wins).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Agreement, StatementDiscrepancy, Txn } from './sim-model.js';

type Line =
  | { readonly t: 'agreement'; readonly v: Agreement }
  | { readonly t: 'txn'; readonly v: Omit<Txn, 'amount'> & { readonly amount: string } }
  | { readonly t: 'sms'; readonly phone: string; readonly code: string; readonly at: number }
  | { readonly t: 'discrepancy'; readonly date: string; readonly v: StatementDiscrepancy };

export class SimStore {
  readonly agreements = new Map<string, Agreement>();
  readonly agreementsByNo = new Map<string, Agreement>();
  readonly txns = new Map<string, Txn>();
  readonly sms = new Map<string, { code: string; at: number }>();
  readonly discrepancies = new Map<string, StatementDiscrepancy>();
  private readonly file: string;
  private fd: number;

  constructor(readonly dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.file = path.join(dataDir, 'bank.log.jsonl');
    this.replay();
    this.fd = fs.openSync(this.file, 'a');
  }

  private replay(): void {
    if (!fs.existsSync(this.file)) return;
    const text = fs.readFileSync(this.file, 'utf8');
    for (const raw of text.split('\n')) {
      // A torn last line (killed mid-write) is skipped; every whole line before it counts.
      if (raw.trim() === '') continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue;
      }
      this.apply(line);
    }
  }

  private apply(line: Line): void {
    switch (line.t) {
      case 'agreement':
        this.agreements.set(line.v.signId, { ...line.v });
        if (line.v.agreementNo) this.agreementsByNo.set(line.v.agreementNo, this.agreements.get(line.v.signId)!);
        return;
      case 'txn':
        this.txns.set(line.v.requestId, { ...line.v, amount: BigInt(line.v.amount) });
        return;
      case 'sms':
        this.sms.set(line.phone, { code: line.code, at: line.at });
        return;
      case 'discrepancy':
        this.discrepancies.set(line.date, line.v);
        return;
    }
  }

  private write(line: Line): void {
    fs.writeSync(this.fd, JSON.stringify(line) + '\n');
    this.apply(line);
  }

  saveAgreement(agreement: Agreement): void {
    this.write({ t: 'agreement', v: agreement });
  }

  saveTxn(txn: Txn): void {
    this.write({ t: 'txn', v: { ...txn, amount: txn.amount.toString() } });
  }

  saveSms(phone: string, code: string, at: number): void {
    this.write({ t: 'sms', phone, code, at });
  }

  saveDiscrepancy(date: string, value: StatementDiscrepancy): void {
    this.write({ t: 'discrepancy', date, v: value });
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
