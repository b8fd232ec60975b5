/**
 * GL subjects (会计科目) and the mapping of every ledger account onto one. The ledger's sign
 * convention carries over: a positive amount is a credit, a negative one a debit, so assets and
 * expenses carry negative (debit) balances and every currency's subjects sum to zero.
 */
import type { AccountType } from '../ledger/index.js';

export type SubjectClass = 'asset' | 'liability' | 'equity' | 'income' | 'expense';

export interface Subject {
  readonly code: string;
  readonly name: string;
  readonly class: SubjectClass;
}

/** The chart of accounts. */
export const subjects = {
  '1001': { code: '1001', name: 'bank deposits', class: 'asset' },
  '1122': { code: '1122', name: 'channel receivables', class: 'asset' },
  '1901': { code: '1901', name: 'reconciliation suspense', class: 'asset' },
  '1902': { code: '1902', name: 'other clearing accounts', class: 'asset' },
  '2201': { code: '2201', name: 'member balances', class: 'liability' },
  '2202': { code: '2202', name: 'merchant balances', class: 'liability' },
  '2241': { code: '2241', name: 'escrow', class: 'liability' },
  '2242': { code: '2242', name: 'coupons and red packets outstanding', class: 'liability' },
  '4001': { code: '4001', name: 'platform equity', class: 'equity' },
  '6001': { code: '6001', name: 'fee income', class: 'income' },
  '6002': { code: '6002', name: 'commission income', class: 'income' },
  '6601': { code: '6601', name: 'marketing expense', class: 'expense' },
} as const satisfies Record<string, Subject>;

export type SubjectCode = keyof typeof subjects;

/**
 * Code-prefix rules, first match wins; then the account type decides. Every ledger account
 * therefore has exactly one subject: the type fallback covers accounts nobody listed.
 */
export const subjectRules: ReadonlyArray<{ readonly codePrefix: string; readonly subject: SubjectCode }> = [
  { codePrefix: 'bank-deposit:', subject: '1001' },
  { codePrefix: 'channel:', subject: '1122' },
  { codePrefix: 'recon:suspense:', subject: '1901' },
  { codePrefix: 'platform:escrow:', subject: '2241' },
  { codePrefix: 'platform:marketing-issued:', subject: '2242' },
  { codePrefix: 'platform:marketing:', subject: '6601' },
  { codePrefix: 'platform:fees:', subject: '6001' },
  { codePrefix: 'platform:commissions:', subject: '6002' },
];

export const subjectByType: Record<AccountType, SubjectCode> = {
  member: '2201',
  merchant: '2202',
  internal: '1902',
  platform: '4001',
};

/** The subject of a ledger account, by its code and type. */
export function subjectOf(account: { readonly type: AccountType; readonly code: string | null }): SubjectCode {
  const code = account.code ?? '';
  for (const rule of subjectRules) if (code.startsWith(rule.codePrefix)) return rule.subject;
  return subjectByType[account.type];
}

/** Well-known accounts the funds side opens (internal: no floor). */
export const fundsAccountCodes = {
  bankDeposit: (bank: string, currency = 'CNY') => `bank-deposit:${bank}:${currency}`,
  channel: (bank: string, currency = 'CNY') => `channel:${bank}:${currency}`,
  suspense: (currency = 'CNY') => `recon:suspense:${currency}`,
  fees: (currency = 'CNY') => `platform:fees:${currency}`,
};
