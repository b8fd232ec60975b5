/**
 * The simulator's test-only admin surface under /sim: info, behaviour, SMS codes, transactions,
 * daily statements and their discrepancies. Unauthenticated: the simulator listens on 127.0.0.1.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { BankEngine } from './bank-engine.js';
import type { BankName } from './bank-profile.js';
import { behaviourJson, readBody, sendJson, updateBehaviour } from './sim-http.js';
import type { SimStore } from './sim-store.js';
import { renderStatement, statementLines } from './statement.js';

export interface AdminDeps {
  readonly bank: BankName;
  readonly dataDir: string;
  readonly engine: BankEngine;
  readonly store: SimStore;
}

async function jsonBody(req: http.IncomingMessage): Promise<Record<string, unknown> | undefined> {
  try {
    const value: unknown = JSON.parse((await readBody(req)) ?? '');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function handleAdmin(req: http.IncomingMessage, res: http.ServerResponse, url: URL, deps: AdminDeps): Promise<void> {
  const { engine, store } = deps;
  const parts = url.pathname.split('/').filter(Boolean).slice(1);
  if (req.method === 'GET' && parts[0] === 'info') {
    return sendJson(res, 200, { bank: deps.bank, card_prefixes: engine.profile.cardPrefixes, wire_format: engine.profile.wireFormat, statement_format: engine.profile.statementFormat, behaviour: behaviourJson(engine.behaviour), counters: engine.counters });
  }
  if (parts[0] === 'behaviour') {
    if (req.method === 'GET') return sendJson(res, 200, behaviourJson(engine.behaviour));
    const patch = await jsonBody(req);
    if (!patch) return sendJson(res, 400, { error: 'body must be a JSON object' });
    const next = updateBehaviour(engine.behaviour, patch);
    if (typeof next === 'string') return sendJson(res, 400, { error: next });
    engine.behaviour = next;
    return sendJson(res, 200, behaviourJson(next));
  }
  if (req.method === 'GET' && parts[0] === 'sms') {
    const found = store.sms.get(url.searchParams.get('phone') ?? '');
    return found ? sendJson(res, 200, { code: found.code, sent_at: new Date(found.at).toISOString() }) : sendJson(res, 404, { error: 'no sms sent to that phone' });
  }
  if (req.method === 'GET' && parts[0] === 'transactions' && parts[1]) {
    const txn = engine.settled(store.txns.get(decodeURIComponent(parts[1])));
    return txn ? sendJson(res, 200, txn) : sendJson(res, 404, { error: 'no such transaction' });
  }
  if (parts[0] === 'statements' && parts[1] && /^\d{4}-\d{2}-\d{2}$/.test(parts[1])) return statement(req, res, url, deps, parts[1], parts[2]);
  sendJson(res, 404, { error: 'not found' });
}

async function statement(req: http.IncomingMessage, res: http.ServerResponse, url: URL, deps: AdminDeps, date: string, sub: string | undefined): Promise<void> {
  const { engine, store } = deps;
  if (req.method === 'POST' && sub === 'discrepancies') {
    const body = await jsonBody(req);
    if (!body) return sendJson(res, 400, { error: 'body must be a JSON object' });
    const count = (v: unknown) => (v === undefined ? 0 : Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1000 ? (v as number) : -1);
    const value = { missing: count(body.missing), extra: count(body.extra), amount: count(body.amount) };
    if (value.missing < 0 || value.extra < 0 || value.amount < 0) return sendJson(res, 400, { error: 'missing, extra, amount must be small non-negative integers' });
    store.saveDiscrepancy(date, value);
  } else if (req.method !== 'GET' || sub !== undefined) {
    return sendJson(res, 404, { error: 'not found' });
  }
  for (const txn of store.txns.values()) engine.settled(txn);
  const { lines, altered } = statementLines(store.txns.values(), date, store.discrepancies.get(date));
  const file = renderStatement(deps.bank, date, lines, altered);
  // Also written where a reconciliation job on this machine can pick it up.
  const dir = path.join(deps.dataDir, 'statements');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, file.fileName), file.body);
  if (req.method === 'POST' || url.searchParams.get('format') === 'json') return sendJson(res, 200, { date, file_name: file.fileName, discrepancies: file.discrepancies, body: file.body });
  res.writeHead(200, { 'content-type': file.contentType, 'content-disposition': `attachment; filename="${file.fileName}"` }).end(file.body);
}
