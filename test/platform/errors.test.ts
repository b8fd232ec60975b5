import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { errorCodes } from '../../src/platform/index.js';

test('docs/errors.md and the error registry list the same codes with the same statuses', () => {
  const text = fs.readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map<string, number>();
  for (const match of text.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)) documented.set(match[1]!, Number(match[2]));
  const registered = new Map(Object.entries(errorCodes).map(([code, entry]) => [code, entry.status as number]));
  assert.deepEqual([...documented.keys()].sort(), [...registered.keys()].sort());
  for (const [code, status] of registered) assert.equal(documented.get(code), status, `status of ${code}`);
});

test('every registered code is upper snake case with a message and an HTTP status', () => {
  for (const [code, entry] of Object.entries(errorCodes)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/);
    assert.ok(entry.message.length > 10, code);
    assert.ok(entry.status >= 400 && entry.status < 600, code);
  }
});
