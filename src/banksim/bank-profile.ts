/** The simulated banks: which cards each serves and how it speaks. Fixed by API.md's Sandbox section. */
export const bankNames = ['alpha', 'beta'] as const;
export type BankName = (typeof bankNames)[number];

export interface BankProfile {
  readonly name: BankName;
  readonly cardPrefixes: readonly string[];
  readonly wireFormat: string;
  readonly statementFormat: string;
}

/** Cards of the shared card network: every bank serves them, with network tokens as agreements. */
export const networkCardPrefix = '6228';

export const bankProfiles: Record<BankName, BankProfile> = {
  alpha: {
    name: 'alpha',
    cardPrefixes: ['6222', networkCardPrefix],
    wireFormat: 'JSON bodies, X-Alpha-Signature: hex HMAC-SHA256(secret, "<X-Alpha-Timestamp>\\n<body>")',
    statementFormat: 'CSV',
  },
  beta: {
    name: 'beta',
    cardPrefixes: ['6217', networkCardPrefix],
    wireFormat: 'application/x-www-form-urlencoded, field sign = upper hex HMAC-SHA256(secret, sorted k=v&…)',
    statementFormat: 'pipe-separated H|D|T lines',
  },
};

export function isBankName(value: string): value is BankName {
  return (bankNames as readonly string[]).includes(value);
}

/** The outcome a test card's last four digits choose (API.md Sandbox). */
export type CardOutcome = 'success' | 'declined' | 'insufficient_funds' | 'never_answers';

export function cardOutcome(cardNo: string): CardOutcome {
  if (cardNo.endsWith('0002')) return 'declined';
  if (cardNo.endsWith('9995')) return 'insufficient_funds';
  if (cardNo.endsWith('0119')) return 'never_answers';
  return 'success';
}
