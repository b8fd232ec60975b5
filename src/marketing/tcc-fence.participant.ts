/**
 * The fenced TCC operations of the marketing participant, after Seata's TCC fence: a fence row per
 * (activity, tool) is written in the same transaction as the tool's status change.
 * - try inserts the row 'tried'; finding it 'cancelled' means the cancel came first: refuse (hanging).
 * - cancel with no row inserts one 'cancelled' (the empty cancel's tombstone) and does nothing else.
 * - confirm and cancel move the row on from 'tried' only, so repeating them does nothing.
 * Two calls on one (activity, tool) serialise on the row's primary key and then its row lock.
 */
import { strict as assert } from 'node:assert';
import type { Transaction } from 'kysely';
import { emit } from '../events/index.js';
import { isId, type Clock, type PlatformContext } from '../platform/index.js';
import type { FenceStatus, MarketingDB } from './marketing.table.js';
import type { TryReserveInput, TryReserveResult } from './payment-tool.js';

type Trx = Transaction<MarketingDB>;

/** Writes the fence row with `status` unless one exists; returns the row's status after the call, locked. */
async function fence(trx: Trx, activity: string, toolId: string, status: FenceStatus, now: Date): Promise<{ status: FenceStatus; inserted: boolean }> {
  const inserted = await trx
    .insertInto('marketing.tcc_fence')
    .values({ activity, tool_id: toolId, status, created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['activity', 'tool_id']).doNothing())
    .executeTakeFirst();
  if (inserted.numInsertedOrUpdatedRows === 1n) return { status, inserted: true };
  const row = await trx.selectFrom('marketing.tcc_fence').select('status').where('activity', '=', activity).where('tool_id', '=', toolId).forUpdate().executeTakeFirstOrThrow();
  return { status: row.status, inserted: false };
}

async function moveFence(trx: Trx, activity: string, toolId: string, to: FenceStatus, now: Date): Promise<void> {
  const moved = await trx.updateTable('marketing.tcc_fence').set({ status: to, updated_at: now }).where('activity', '=', activity).where('tool_id', '=', toolId).where('status', '=', 'tried').executeTakeFirst();
  assert.equal(moved.numUpdatedRows, 1n, 'the fence row is locked and tried');
}

export async function tryReserve(trx: Trx, clock: Clock, ctx: PlatformContext, input: TryReserveInput): Promise<TryReserveResult> {
  if (!isId(input.toolId) || !isId(input.memberId) || !isId(input.clientId)) return { ok: false, reason: 'not_found' };
  const now = clock.now();
  const row = await fence(trx, input.activity, input.toolId, 'tried', now);
  if (row.status === 'cancelled') return { ok: false, reason: 'cancelled' };
  const reserved = await trx
    .updateTable('marketing.tool')
    .set({ status: 'reserved', reserved_by: input.activity, updated_at: now })
    .where('id', '=', input.toolId)
    .where('member_id', '=', input.memberId)
    .where('client_id', '=', input.clientId)
    .where('status', '=', 'available')
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .returning(['amount', 'member_id', 'kind'])
    .executeTakeFirst();
  if (reserved) {
    await emit(trx, 'marketing', { type: 'marketing.tool_reserved', key: input.toolId, payload: { tool_id: input.toolId, activity: input.activity, amount: reserved.amount }, context: ctx });
    return { ok: true, amount: reserved.amount };
  }
  // Nothing reserved: a repeated try (already ours), or a refusal. The fence stays 'tried' with no
  // reservation behind it, so a later cancel has nothing to give back.
  const tool = await trx.selectFrom('marketing.tool').selectAll().where('id', '=', input.toolId).executeTakeFirst();
  if (!tool || tool.member_id !== input.memberId || tool.client_id !== input.clientId) return { ok: false, reason: 'not_found' };
  if (tool.reserved_by === input.activity && (tool.status === 'reserved' || tool.status === 'used')) return { ok: true, amount: tool.amount };
  if (tool.status === 'expired' || (tool.status === 'available' && tool.expires_at !== null && tool.expires_at <= now)) return { ok: false, reason: 'expired' };
  return { ok: false, reason: 'not_available' };
}

export async function confirm(trx: Trx, clock: Clock, ctx: PlatformContext, activity: string, toolId: string): Promise<void> {
  assert(isId(toolId), 'confirm names a tool id');
  const now = clock.now();
  const row = await trx.selectFrom('marketing.tcc_fence').select('status').where('activity', '=', activity).where('tool_id', '=', toolId).forUpdate().executeTakeFirst();
  assert(row, `confirm without try: activity ${activity}, tool ${toolId}`);
  if (row.status === 'confirmed') return;
  assert.equal(row.status, 'tried', `confirm after cancel: activity ${activity}, tool ${toolId}`);
  const used = await trx
    .updateTable('marketing.tool')
    .set({ status: 'used', updated_at: now })
    .where('id', '=', toolId)
    .where('status', '=', 'reserved')
    .where('reserved_by', '=', activity)
    .returning(['amount', 'member_id', 'kind'])
    .executeTakeFirst();
  assert(used, `confirm of a try that reserved nothing: activity ${activity}, tool ${toolId}`);
  await moveFence(trx, activity, toolId, 'confirmed', now);
  await emit(trx, 'marketing', { type: 'marketing.tool_used', key: toolId, payload: { tool_id: toolId, activity, member_id: used.member_id, kind: used.kind, amount: used.amount }, context: ctx });
}

export async function cancel(trx: Trx, clock: Clock, ctx: PlatformContext, activity: string, toolId: string): Promise<void> {
  // A malformed id can never have been tried: nothing to give back, and no row could hold the tombstone.
  if (!isId(toolId)) return;
  const now = clock.now();
  const row = await fence(trx, activity, toolId, 'cancelled', now);
  if (row.inserted || row.status === 'cancelled') return;
  assert.equal(row.status, 'tried', `cancel after confirm: activity ${activity}, tool ${toolId}`);
  const released = await trx
    .updateTable('marketing.tool')
    .set({ status: 'available', reserved_by: null, updated_at: now })
    .where('id', '=', toolId)
    .where('status', '=', 'reserved')
    .where('reserved_by', '=', activity)
    .executeTakeFirst();
  await moveFence(trx, activity, toolId, 'cancelled', now);
  if (released.numUpdatedRows === 1n) {
    await emit(trx, 'marketing', { type: 'marketing.tool_released', key: toolId, payload: { tool_id: toolId, activity }, context: ctx });
  }
}
