/** Trade orders in the database: insert-or-find by natural key, compare-and-set moves, worker queries. */
import { sql, type Insertable, type Kysely, type Transaction, type Updateable } from 'kysely';
import { clientObjectPayload, emit, toEventJson } from '../events/index.js';
import { isId, newId } from '../platform/index.js';
import { assertTransition, contextOf, eventObject, orderJson } from './trade.js';
import type { StoredException, TradeDB, TradeKind, TradeOrderTable, TradeRow } from './trade.table.js';

export type NewOrder = Insertable<TradeOrderTable>;

/** The columns a new order starts with empty; each kind names only what it sets. */
const emptyOrder = {
  out_no_space: null,
  out_no: null,
  request_hash: null,
  payer_id: null,
  payee_id: null,
  subject: null,
  memo: null,
  scene: null,
  notify_url: null,
  card_id: null,
  speed: null,
  parent_id: null,
  payment_order_id: null,
  channel_order_id: null,
  timeout_at: null,
  confirm_due_at: null,
  settle_at: null,
  paid_at: null,
  finished_at: null,
  closed_at: null,
  splits: '[]',
  exceptions: '[]',
} as const;

/** A new order row: `fields` over the empty defaults (nulls, no splits, no exceptions). */
export function newOrder(fields: Omit<NewOrder, keyof typeof emptyOrder> & Partial<NewOrder>): Required<NewOrder> {
  return { ...emptyOrder, ...fields } as Required<NewOrder>;
}

/** Inserts an order; with a natural key taken already, returns the existing one instead. */
export async function insertOrFind(trx: Transaction<TradeDB>, order: NewOrder): Promise<{ row: TradeRow; created: boolean }> {
  const inserted = await trx
    .insertInto('trade.trade_order')
    .values(order)
    .onConflict((oc) => oc.constraint('out_no_unique').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { row: inserted, created: true };
  const existing = await trx
    .selectFrom('trade.trade_order')
    .selectAll()
    .where('client_id', '=', order.client_id)
    .where('out_no_space', '=', order.out_no_space!)
    .where('out_no', '=', order.out_no!)
    .executeTakeFirstOrThrow();
  return { row: existing, created: false };
}

export function find(db: Kysely<TradeDB>, id: string): Promise<TradeRow | undefined> {
  if (!isId(id)) return Promise.resolve(undefined);
  return db.selectFrom('trade.trade_order').selectAll().where('id', '=', id).executeTakeFirst();
}

/** An order of this client (another client's is as good as absent: 404). */
export async function findForClient(db: Kysely<TradeDB>, clientId: string, id: string, kinds: readonly TradeKind[]): Promise<TradeRow | undefined> {
  const row = await find(db, id);
  return row && row.client_id === clientId && kinds.includes(row.kind) ? row : undefined;
}

export function findByOutNo(db: Kysely<TradeDB>, clientId: string, space: 'trade' | 'refund' | 'biz', outNo: string): Promise<TradeRow | undefined> {
  return db.selectFrom('trade.trade_order').selectAll().where('client_id', '=', clientId).where('out_no_space', '=', space).where('out_no', '=', outNo).executeTakeFirst();
}

export function lock(trx: Transaction<TradeDB>, id: string): Promise<TradeRow | undefined> {
  return trx.selectFrom('trade.trade_order').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

type Changes = Omit<Updateable<TradeOrderTable>, 'id' | 'status'>;

/** UPDATE … SET status = $to WHERE id = $1 AND status IN ($from): the row after, or undefined if it was not in `from`. */
export async function move(trx: Transaction<TradeDB>, row: Pick<TradeRow, 'id' | 'kind'>, from: string[], to: string, changes: Changes, now: Date): Promise<TradeRow | undefined> {
  assertTransition(row.kind, from, to);
  return trx
    .updateTable('trade.trade_order')
    .set({ ...changes, status: to, updated_at: now })
    .where('id', '=', row.id)
    .where('status', 'in', from)
    .returningAll()
    .executeTakeFirst();
}

/** Adds to refunded_amount only while the sum stays within what was paid (the check constraint agrees). */
export async function addRefunded(trx: Transaction<TradeDB>, id: string, amount: bigint, now: Date): Promise<TradeRow | undefined> {
  return trx
    .updateTable('trade.trade_order')
    .set({ refunded_amount: sql`refunded_amount + ${amount}`, updated_at: now })
    .where('id', '=', id)
    .where(sql<boolean>`refunded_amount + ${amount} <= paid_amount`)
    .returningAll()
    .executeTakeFirst();
}

export async function subtractRefunded(trx: Transaction<TradeDB>, id: string, amount: bigint, now: Date): Promise<TradeRow | undefined> {
  return trx
    .updateTable('trade.trade_order')
    .set({ refunded_amount: sql`refunded_amount - ${amount}`, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function recordException(trx: Transaction<TradeDB>, id: string, exception: StoredException, now: Date): Promise<TradeRow | undefined> {
  return trx
    .updateTable('trade.trade_order')
    .set({ exceptions: sql`exceptions || ${JSON.stringify([exception])}::jsonb`, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Emits `<object>.<verb>` with the order as the API shows it, in the state change's transaction. */
export async function emitChange(trx: Transaction<TradeDB>, row: TradeRow, verb: string): Promise<void> {
  await emit(trx, 'trade', {
    type: `${eventObject(row.kind)}.${verb}`,
    key: row.root_id,
    payload: clientObjectPayload({ clientId: row.client_id, notifyUrl: row.notify_url, object: orderJson(row) }),
    context: contextOf(row),
  });
}

/** Unpaid trades past their timeout (bounded). */
export function expiredUnpaid(db: Kysely<TradeDB>, now: Date, limit: number): Promise<TradeRow[]> {
  return db.selectFrom('trade.trade_order').selectAll().where('status', '=', 'wait_pay').where('timeout_at', '<', now).orderBy('timeout_at').limit(limit).execute();
}

/** Paid trades of one kind whose `column` is before `before`, oldest first (bounded). */
function paidDue(db: Kysely<TradeDB>, kind: 'escrow' | 'instant', column: 'confirm_due_at' | 'paid_at', before: Date, limit: number): Promise<TradeRow[]> {
  return db.selectFrom('trade.trade_order').selectAll().where('kind', '=', kind).where('status', '=', 'success').where(column, '<', before).orderBy(column).limit(limit).execute();
}

/** Escrow trades whose buyer did not confirm within the period (bounded). */
export function escrowDue(db: Kysely<TradeDB>, now: Date, limit: number): Promise<TradeRow[]> {
  return paidDue(db, 'escrow', 'confirm_due_at', now, limit);
}

/** Paid instant trades whose refund window ended (paid before `paidBefore`), oldest first (bounded). */
export function instantRefundEnded(db: Kysely<TradeDB>, paidBefore: Date, limit: number): Promise<TradeRow[]> {
  return paidDue(db, 'instant', 'paid_at', paidBefore, limit);
}

/** Whether a refund of the trade is still processing (reserved, its money not settled yet). */
export async function hasRefundInFlight(db: Kysely<TradeDB> | Transaction<TradeDB>, parentId: string): Promise<boolean> {
  const open = await db.selectFrom('trade.trade_order').select('id').where('parent_id', '=', parentId).where('kind', '=', 'refund').where('status', '=', 'processing').executeTakeFirst();
  return open !== undefined;
}

export function children(db: Kysely<TradeDB>, parentId: string, kinds: TradeKind[]): Promise<TradeRow[]> {
  return db.selectFrom('trade.trade_order').selectAll().where('parent_id', '=', parentId).where('kind', 'in', kinds).orderBy('created_at').execute();
}

/** An outbox row as src/events/outbox.ts writes it (the documented table), for statements that write state and events at once. */
export interface OutboxRow {
  readonly id: string;
  readonly type: string;
  readonly key: string;
  readonly payload: string;
  readonly context: string;
}

export function outboxRow(type: string, key: string, payload: unknown, context: unknown): OutboxRow {
  return { id: newId(), type, key, payload: JSON.stringify(toEventJson(payload)), context: JSON.stringify(toEventJson(context)) };
}

/** `<object>.<verb>` of an order (as emitChange writes it), for a combined statement. */
export function changeRow(row: TradeRow, verb: string): OutboxRow {
  return outboxRow(`${eventObject(row.kind)}.${verb}`, row.root_id, clientObjectPayload({ clientId: row.client_id, notifyUrl: row.notify_url, object: orderJson(row) }), contextOf(row));
}

function outboxValues(rows: readonly OutboxRow[]) {
  return sql.join(rows.map((r) => sql`(${r.id}::uuid, ${r.type}, ${r.key}, ${r.payload}::jsonb, ${r.context}::jsonb)`));
}

/**
 * One statement: the order inserted (unless its natural key is taken) and, only if it was, its
 * events. Atomic without a transaction; true when inserted.
 */
export async function insertWithEvents(db: Kysely<TradeDB>, order: NewOrder, events: readonly OutboxRow[]): Promise<boolean> {
  const fields = Object.entries(order).filter(([, value]) => value !== undefined);
  const columns = sql.join(fields.map(([name]) => sql.ref(name)));
  const values = sql.join(fields.map(([, value]) => sql`${value}`));
  const result = await sql<{ id: string }>`with ins as (
      insert into trade.trade_order (${columns}) values (${values})
      on conflict on constraint out_no_unique do nothing returning id)
    insert into trade.outbox (id, type, key, payload, context)
    select e.id, e.type, e.key, e.payload, e.context from ins, (values ${outboxValues(events)}) as e (id, type, key, payload, context)
    returning id`.execute(db);
  return result.rows.length > 0;
}

/**
 * One statement: the compare-and-set of a paid trade (only if it is still exactly the row read,
 * `updated_at` being its version) and its events. True when it moved.
 */
export async function moveWithEvents(trx: Transaction<TradeDB>, row: TradeRow, to: string, changes: Record<string, unknown>, events: readonly OutboxRow[], now: Date): Promise<boolean> {
  assertTransition(row.kind, [row.status], to);
  const sets = sql.join(Object.entries({ ...changes, status: to, updated_at: now }).map(([name, value]) => sql`${sql.ref(name)} = ${value}`));
  const result = await sql<{ id: string }>`with moved as (
      update trade.trade_order set ${sets}
      where id = ${row.id} and status = ${row.status} and updated_at = ${row.updated_at} returning id)
    insert into trade.outbox (id, type, key, payload, context)
    select e.id, e.type, e.key, e.payload, e.context from moved, (values ${outboxValues(events)}) as e (id, type, key, payload, context)
    returning id`.execute(trx);
  return result.rows.length > 0;
}
