/**
 * Events as the platform carries them: what an emitter writes, what the bus delivers, and the
 * payload rules. Payloads are JSON; a bigint anywhere in a payload is written as a decimal string
 * of its minor units ("1050"), never as a JSON number, so no amount loses precision on the way.
 */
import assert from 'node:assert/strict';
import type { PlatformContext } from '../platform/index.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a subsystem emits with `emit(trx, schema, event)`. */
export interface EventInput {
  /** Past tense, dotted: `trade.paid`, `refund.succeeded`, `channel.switch_changed`. */
  readonly type: string;
  /** The ordering key: events with one key are delivered in emit order (e.g. the trade id). */
  readonly key: string;
  /** JSON; bigint values become decimal strings (see toEventJson). */
  readonly payload: unknown;
  readonly context: PlatformContext;
  /** Also delivered to every running process (switch and config changes); see Events.onBroadcast. */
  readonly broadcast?: boolean;
}

/** An event as consumers receive it. */
export interface BusEvent {
  readonly id: string;
  readonly type: string;
  readonly key: string;
  readonly payload: JsonValue;
  readonly context: PlatformContext;
  /** The schema whose outbox it came from. */
  readonly source: string;
  readonly broadcast: boolean;
  /** RFC 3339, when the emitting transaction wrote it. */
  readonly occurredAt: string;
}

/** An event as a row stores it (an outbox, the database bus, with its source schema). */
export interface StoredEventRow {
  readonly id: string;
  readonly type: string;
  readonly key: string;
  readonly payload: JsonValue;
  readonly context: JsonValue;
  readonly source: string;
  readonly broadcast: boolean;
  readonly occurred_at: Date;
}

export function rowToEvent(row: StoredEventRow): BusEvent {
  return {
    id: row.id,
    type: row.type,
    key: row.key,
    payload: row.payload,
    context: row.context as unknown as PlatformContext,
    source: row.source,
    broadcast: row.broadcast,
    occurredAt: row.occurred_at.toISOString(),
  };
}

export const eventTypePattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
export const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;
export const eventKeyMaxLength = 200;

/** A payload as stored: bigint → decimal string, Date → RFC 3339, undefined fields dropped. */
export function toEventJson(value: unknown, depth = 0): JsonValue {
  assert.ok(depth < 32, 'event payload nested too deep');
  if (value === null) return null;
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      assert.ok(Number.isFinite(value), 'event payload numbers must be finite');
      return value;
    case 'object': {
      if (value instanceof Date) return value.toISOString();
      if (Array.isArray(value)) return value.map((item) => toEventJson(item ?? null, depth + 1));
      const out: Record<string, JsonValue> = {};
      for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
        if (item !== undefined) out[name] = toEventJson(item, depth + 1);
      }
      return out;
    }
    default:
      assert.fail(`event payload cannot hold a ${typeof value}`);
  }
}

/** The key bucket: FNV-1a over the key's UTF-8 bytes. Stable across processes and versions. */
export function bucketOf(key: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % buckets;
}

/** Topic patterns: `*` (all), `trade.*` (a prefix up to a dot), or an exact type. */
export function matchesTopic(patterns: readonly string[], type: string): boolean {
  return patterns.some((pattern) => pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))));
}
