/**
 * Time-ordered ids: UUID version 7 (RFC 9562). A millisecond timestamp in the high bits keeps
 * B-tree inserts at the right edge; a counter keeps ids from one process strictly increasing
 * within the same millisecond.
 */
import { randomFillSync } from 'node:crypto';

// Random bytes drawn 4 KiB at a time: one randomBytes(16) per id (≈ 6 µs) was half of the
// ledger's per-voucher preparation in Node.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function random16(): Buffer {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + 16));
  poolOffset += 16;
  return bytes;
}

let lastMs = 0;
let sequence = 0;

/** A new UUIDv7 string, strictly increasing within this process. */
export function newId(nowMs: number = Date.now()): string {
  if (nowMs <= lastMs) {
    sequence += 1;
    // 12 bits of sequence; past that borrow the next millisecond rather than repeat.
    if (sequence > 0xfff) {
      lastMs += 1;
      sequence = 0;
    }
  } else {
    lastMs = nowMs;
    sequence = random16()[0]! & 0x3f;
  }
  const bytes = random16();
  const ms = BigInt(lastMs);
  for (let i = 0; i < 6; i += 1) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = 0x70 | ((sequence >> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True when the text is a lower-case UUID; used before a lookup so a bad id is a 404, not a 500. */
export function isId(text: string): boolean {
  return uuidPattern.test(text);
}
