import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDecimal, parseDecimal, currencyExponent, newId, isId, loadConfig, ConfigError } from '../../src/platform/index.js';

test('decimal strings parse to exact minor units', () => {
  assert.equal(parseDecimal('88.88'), 8888n);
  assert.equal(parseDecimal('0.01'), 1n);
  assert.equal(parseDecimal('99999999.99'), 9999999999n);
  assert.equal(parseDecimal('100'), 10000n);
  assert.equal(parseDecimal('1.5'), 150n);
  assert.equal(parseDecimal('-0.10'), -10n);
  assert.equal(parseDecimal('123456789012345678901234.56'), 12345678901234567890123456n);
  assert.equal(parseDecimal('100', 'JPY'), 100n);
});

test('anything but a plain decimal is refused', () => {
  for (const bad of ['', '1.234', '1e3', '0x10', ' 1', '1 ', '1.', '.5', '+1', '1,00', 'NaN', 'Infinity', '--1']) {
    assert.equal(parseDecimal(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(parseDecimal('1.5', 'JPY'), undefined);
});

test('formatting gives exactly the currency decimals', () => {
  assert.equal(formatDecimal(8888n), '88.88');
  assert.equal(formatDecimal(1n), '0.01');
  assert.equal(formatDecimal(0n), '0.00');
  assert.equal(formatDecimal(-5n), '-0.05');
  assert.equal(formatDecimal(9999999999n), '99999999.99');
  assert.equal(formatDecimal(100n, 'JPY'), '100');
  assert.equal(formatDecimal(1234n, 'KWD'), '1.234');
  assert.equal(currencyExponent('CNY'), 2);
});

test('format and parse are inverse for every bigint', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.constantFrom('CNY', 'JPY', 'KWD'), (amount, currency) => {
      assert.equal(parseDecimal(formatDecimal(amount, currency), currency), amount);
    }),
    { numRuns: 500 },
  );
});

test('ids are UUIDv7 and strictly increasing within a process', () => {
  const ids = Array.from({ length: 10_000 }, () => newId());
  for (const id of ids) assert.ok(isId(id), id);
  assert.equal(ids[0]![14], '7');
  for (let i = 1; i < ids.length; i += 1) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
  assert.equal(new Set(ids).size, ids.length);
  // The leading 48 bits are the millisecond timestamp.
  const ms = Number.parseInt(newId(1_700_000_000_000).replace(/-/g, '').slice(0, 12), 16);
  assert.ok(ms >= 1_700_000_000_000);
});

test('config is validated once, naming the bad variable', () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.maxAmountMinor, 10_000_000_000n);
  assert.equal(loadConfig({ PORT: '9000', LEDGER_DATABASE_URL: 'postgres://x@h/db' }).subsystemDatabaseUrls.ledger, 'postgres://x@h/db');
  assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: unknown) => e instanceof ConfigError && /PORT/.test(e.message));
  assert.throws(() => loadConfig({ PORT: '70000' }), ConfigError);
  // Trade and payment share one database: a split between them is a config error, not a crash at start.
  assert.throws(() => loadConfig({ TRADE_DATABASE_URL: 'postgres://x@h/trade' }), (e: unknown) => e instanceof ConfigError && /PAYMENT_DATABASE_URL/.test(e.message));
  assert.equal(loadConfig({ TRADE_DATABASE_URL: 'postgres://x@h/tp', PAYMENT_DATABASE_URL: 'postgres://x@h/tp' }).subsystemDatabaseUrls.trade, 'postgres://x@h/tp');
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ PAYCORE_SANDBOX: 'maybe' }), /PAYCORE_SANDBOX/);
  assert.throws(() => loadConfig({ PAYCORE_BUS: 'kafka://x' }), /PAYCORE_BUS/);
});
