/**
 * Money: bigint minor units with an ISO 4217 currency. No float ever touches an amount:
 * decimal strings are parsed and formatted digit by digit.
 */
import { strict as assert } from 'node:assert';

/** Minor-unit exponent per currency; anything not listed has two decimals. */
const exponents: Record<string, number> = { JPY: 0, KRW: 0, BHD: 3, KWD: 3 };

export type Currency = string;

/** An exact amount of one currency. */
export interface Money {
  readonly amount: bigint;
  readonly currency: Currency;
}

/** The number of decimals a currency's minor unit has. */
export function currencyExponent(currency: Currency): number {
  return exponents[currency] ?? 2;
}

/** True for a three-letter upper-case ISO 4217 code. */
export function isCurrency(value: string): boolean {
  return /^[A-Z]{3}$/.test(value);
}

export function money(amount: bigint, currency: Currency = 'CNY'): Money {
  assert(isCurrency(currency), `invalid currency ${currency}`);
  return { amount, currency };
}

/**
 * Parses a decimal string ("88.88", "-0.01", "100") into minor units, exactly.
 * Returns undefined for anything that is not a plain decimal with at most the currency's decimals.
 */
export function parseDecimal(text: string, currency: Currency = 'CNY'): bigint | undefined {
  const exponent = currencyExponent(currency);
  const match = /^(-)?(\d{1,40})(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > exponent) return undefined;
  const minor = BigInt(whole! + fraction.padEnd(exponent, '0'));
  return sign ? -minor : minor;
}

/** Formats minor units as a decimal string with exactly the currency's decimals ("88.88"). */
export function formatDecimal(amount: bigint, currency: Currency = 'CNY'): string {
  const exponent = currencyExponent(currency);
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return (negative ? '-' : '') + whole + (exponent > 0 ? '.' + fraction : '');
}

export function add(a: Money, b: Money): Money {
  assert.equal(a.currency, b.currency, 'currency mismatch');
  return { amount: a.amount + b.amount, currency: a.currency };
}

export function subtract(a: Money, b: Money): Money {
  assert.equal(a.currency, b.currency, 'currency mismatch');
  return { amount: a.amount - b.amount, currency: a.currency };
}

/** Converts an API integer (already checked to be safe) to bigint minor units. */
export function fromSafeInteger(value: number): bigint {
  assert(Number.isSafeInteger(value), `not a safe integer: ${value}`);
  return BigInt(value);
}

/** Converts minor units to a JSON number for the API; amounts are bounded far below 2^53. */
export function toSafeInteger(value: bigint): number {
  assert(value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER));
  return Number(value);
}
