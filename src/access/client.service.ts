/** API clients: one per business system, authenticated by a hashed API key. */
import type { Kysely } from 'kysely';
import { newId, randomToken, sha256Hex } from '../platform/index.js';
import type { AccessDB, ClientRow } from './access.table.js';

/** An authenticated API client as the rest of the platform sees it. */
export interface Client {
  readonly id: string;
  readonly name: string;
  readonly notifySecret: string;
  readonly notifyUrl: string | undefined;
  readonly rateLimitPerSecond: number | undefined;
  readonly rateLimitConcurrency: number | undefined;
}

/** What `paycore client create` prints, once: the key is not kept in clear anywhere. */
export interface CreatedClient {
  readonly id: string;
  readonly name: string;
  readonly api_key: string;
  readonly notify_secret: string;
}

function toClient(row: ClientRow): Client {
  return {
    id: row.id,
    name: row.name,
    notifySecret: row.notify_secret,
    notifyUrl: row.notify_url ?? undefined,
    rateLimitPerSecond: row.rate_limit_per_second ?? undefined,
    rateLimitConcurrency: row.rate_limit_concurrency ?? undefined,
  };
}

const cacheTtlMs = 5_000;
const cacheMax = 10_000;

export class ClientService {
  // Key hash → client; a short TTL bounds how long a revoked key keeps working on this process.
  private readonly cache = new Map<string, { client: Client; expiresAt: number }>();

  constructor(private readonly db: Kysely<AccessDB>) {}

  async create(input: { name: string; notifyUrl?: string }): Promise<CreatedClient> {
    const id = newId();
    const apiKey = randomToken('pk', 24);
    const notifySecret = randomToken('whsec', 24);
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('access.client').values({ id, name: input.name, notify_secret: notifySecret, notify_url: input.notifyUrl ?? null }).execute();
      await trx
        .insertInto('access.api_key')
        .values({ id: newId(), client_id: id, key_hash: sha256Hex(apiKey), key_prefix: apiKey.slice(0, 7) })
        .execute();
    });
    return { id, name: input.name, api_key: apiKey, notify_secret: notifySecret };
  }

  /** The client an API key belongs to, or undefined for an unknown or revoked key. */
  async authenticate(apiKey: string): Promise<Client | undefined> {
    const keyHash = sha256Hex(apiKey);
    const now = Date.now();
    const cached = this.cache.get(keyHash);
    if (cached && cached.expiresAt > now) return cached.client;
    const row = await this.db
      .selectFrom('access.api_key as k')
      .innerJoin('access.client as c', 'c.id', 'k.client_id')
      .selectAll('c')
      .where('k.key_hash', '=', keyHash)
      .where('k.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    const client = toClient(row);
    if (this.cache.size >= cacheMax) this.cache.clear();
    this.cache.set(keyHash, { client, expiresAt: now + cacheTtlMs });
    return client;
  }

  async get(id: string): Promise<Client | undefined> {
    const row = await this.db.selectFrom('access.client').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toClient(row) : undefined;
  }

  /** The clients of `ids` that exist, by id, in one query (e.g. a consumer's batch of events). */
  async getMany(ids: readonly string[]): Promise<Map<string, Client>> {
    const distinct = [...new Set(ids)];
    if (distinct.length === 0) return new Map();
    const rows = await this.db.selectFrom('access.client').selectAll().where('id', 'in', distinct).execute();
    return new Map(rows.map((row) => [row.id, toClient(row)]));
  }

  async list(): Promise<Client[]> {
    const rows = await this.db.selectFrom('access.client').selectAll().orderBy('id').execute();
    return rows.map(toClient);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('access.client').select((eb) => eb.fn.countAll<bigint>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
