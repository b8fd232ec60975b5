/** The activity log: insert, compare-and-set moves, and the recovery worker's queries. */
import { sql, type Kysely } from 'kysely';
import type { ActivityView } from './activity.js';
import type { ActivityRow, ActivityStatus, ChannelState, PaymentDB } from './payment.table.js';
import type { ChannelOrderView } from './ports.js';

export async function insert(db: Kysely<PaymentDB>, activity: ActivityView, plan: string, status: ActivityStatus, now: Date): Promise<void> {
  await db
    .insertInto('payment.activity')
    .values({
      id: activity.id,
      business: activity.business,
      business_ref: activity.businessRef,
      status,
      plan,
      channel_order_id: null,
      channel_bank: null,
      channel_state: null,
      channel_due_at: activity.plan.channel?.dueAt ?? null,
      cancel_reason: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await log(db, activity.id, status, null);
}

async function log(db: Kysely<PaymentDB>, activityId: string, phase: string, detail: string | null): Promise<void> {
  await db.insertInto('payment.activity_log').values({ activity_id: activityId, phase, detail }).execute();
}

export function find(db: Kysely<PaymentDB>, id: string): Promise<ActivityRow | undefined> {
  return db.selectFrom('payment.activity').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Compare-and-set of the status; true when this call moved it. */
export async function move(
  db: Kysely<PaymentDB>,
  id: string,
  from: ActivityStatus[],
  to: ActivityStatus,
  now: Date,
  more: { reason?: string; channelState?: ChannelState } = {},
): Promise<boolean> {
  const result = await db
    .updateTable('payment.activity')
    .set({
      status: to,
      updated_at: now,
      ...(more.reason !== undefined ? { cancel_reason: more.reason } : {}),
      ...(more.channelState !== undefined ? { channel_state: more.channelState } : {}),
    })
    .where('id', '=', id)
    .where('status', 'in', from)
    .executeTakeFirst();
  const moved = result.numUpdatedRows === 1n;
  if (moved) await log(db, id, to, more.reason ?? null);
  return moved;
}

/** Records the channel order of an awaiting activity, once. */
export async function setChannelOrder(db: Kysely<PaymentDB>, id: string, order: ChannelOrderView, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('payment.activity')
    .set({ channel_order_id: order.id, channel_bank: order.bank, channel_state: 'pending', updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'awaiting_channel')
    .where('channel_order_id', 'is', null)
    .executeTakeFirst();
  const moved = result.numUpdatedRows === 1n;
  if (moved) await log(db, id, 'channel_started', order.id);
  return moved;
}

/** A cancelled activity's channel order ended; true for the one call that settles it. */
export async function settleChannel(db: Kysely<PaymentDB>, id: string, outcome: 'success' | 'failed', now: Date): Promise<boolean> {
  const result = await db
    .updateTable('payment.activity')
    .set({ channel_state: 'settled' })
    .where('id', '=', id)
    .where('status', '=', 'cancelled')
    .where('channel_state', '=', 'pending')
    .executeTakeFirst();
  const moved = result.numUpdatedRows === 1n;
  if (moved) await log(db, id, `late_channel_${outcome}`, now.toISOString());
  return moved;
}

export async function bumpAttempts(db: Kysely<PaymentDB>, id: string): Promise<void> {
  await db.updateTable('payment.activity').set({ attempts: sql`attempts + 1` }).where('id', '=', id).execute();
}

/** Activities recovery should look at now (bounded). */
export function open(db: Kysely<PaymentDB>, staleBefore: Date, now: Date, limit: number): Promise<ActivityRow[]> {
  return db
    .selectFrom('payment.activity')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb.and([eb('status', 'in', ['trying', 'confirming', 'cancelling']), eb('updated_at', '<', staleBefore)]),
        eb.and([
          eb('status', '=', 'awaiting_channel'),
          eb.or([eb('channel_order_id', 'is not', null), eb('channel_due_at', 'is', null), eb('channel_due_at', '<=', now)]),
        ]),
        eb.and([eb('status', '=', 'cancelled'), eb('channel_state', '=', 'pending')]),
      ]),
    )
    .orderBy('updated_at')
    .limit(limit)
    .execute();
}

export function logOf(db: Kysely<PaymentDB>, activityId: string): Promise<Array<{ phase: string; detail: string | null; at: Date }>> {
  return db.selectFrom('payment.activity_log').select(['phase', 'detail', 'at']).where('activity_id', '=', activityId).orderBy('id').execute();
}
