/**
 * The crash test's child: posts vouchers from 16 concurrent callers until killed, writing
 * `ACK <reference>` to stdout (a pipe: written synchronously) for each acknowledged posting.
 * Each voucher's content is a function of its reference, so a replay posts the same content.
 * Env: CRASH_DB_URL, CRASH_ACCOUNTS (JSON: {members, buffered, sub, bank}), CRASH_RUN (a prefix),
 * CRASH_REPLAY (a file of references to post again instead, printing `REPLAYED <reference>`).
 */
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { createKysely, createLogger, createPool } from '../../src/platform/index.js';
import { createLedger, type LedgerDB, type VoucherInput } from '../../src/ledger/index.js';

const accounts = JSON.parse(process.env.CRASH_ACCOUNTS!) as { members: string[]; buffered: string; sub: string; bank: string };
const pool = createPool(process.env.CRASH_DB_URL!, { max: 8 });
const ledger = createLedger({
  db: createKysely<LedgerDB>(pool),
  pool,
  clock: { now: () => new Date() },
  logger: createLogger('silent'),
  options: { foldIntervalMs: 5 },
});

function voucherFor(reference: string): VoucherInput {
  const digest = createHash('sha256').update(reference).digest();
  const members = accounts.members;
  const a = members[digest[0]! % members.length]!;
  let b = members[digest[1]! % members.length]!;
  if (b === a) b = members[(digest[1]! + 1) % members.length]!;
  const amount = BigInt(1 + (digest[2]! % 50));
  const shape = digest[3]! % 3;
  const entries =
    shape === 0
      ? [{ accountId: a, amount: -amount }, { accountId: b, amount }]
      : shape === 1
        ? [{ accountId: a, amount: -amount }, { accountId: accounts.buffered, amount }]
        : [{ accountId: accounts.sub, amount: -amount }, { accountId: b, amount }];
  return { source: 'crash', reference, currency: 'CNY', entries };
}

if (process.env.CRASH_REPLAY) {
  const references = fs.readFileSync(process.env.CRASH_REPLAY, 'utf8').split('\n').filter(Boolean);
  for (let i = 0; i < references.length; i += 64) {
    const slice = references.slice(i, i + 64);
    const results = await Promise.all(slice.map((reference) => ledger.post(voucherFor(reference))));
    results.forEach((result, j) => {
      if (result.ok && result.replayed) process.stdout.write(`REPLAYED ${slice[j]}\n`);
    });
  }
  await ledger.close();
  await pool.end();
} else {
  const [folder] = ledger.workers();
  folder!.start();
  const run = process.env.CRASH_RUN!;
  process.stdout.write('READY\n');
  await Promise.all(
    Array.from({ length: 16 }, async (_, caller) => {
      for (let n = 0; ; n += 1) {
        const reference = `${run}-${caller}-${n}`;
        const result = await ledger.post(voucherFor(reference));
        if (result.ok) process.stdout.write(`ACK ${reference}\n`);
      }
    }),
  );
}
