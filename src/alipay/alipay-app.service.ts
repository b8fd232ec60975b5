/**
 * Alipay-style apps. An app IS an API client of the access subsystem (created here through
 * ClientService), plus the merchant's RSA public key and a platform key pair made for it.
 */
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ClientService } from '../access/index.js';
import type { AlipayDB, AppRow } from './alipay.table.js';
import { generatePlatformKeyPair, normalizePublicKey } from './rsa-signature.js';

export interface AlipayApp {
  readonly appId: string;
  readonly clientId: string;
  readonly name: string;
  readonly merchantPublicKey: string;
  readonly platformPublicKey: string;
  readonly platformPrivateKey: string;
  readonly sellerMemberId: string | undefined;
}

/** What `paycore alipay-app create` prints, once. */
export interface CreatedAlipayApp {
  readonly app_id: string;
  readonly client_id: string;
  readonly platform_public_key: string;
}

export type CreateAppResult = { ok: true; app: CreatedAlipayApp } | { ok: false; reason: 'invalid_public_key' };

function toApp(row: AppRow): AlipayApp {
  return {
    appId: row.app_id,
    clientId: row.client_id,
    name: row.name,
    merchantPublicKey: row.merchant_public_key,
    platformPublicKey: row.platform_public_key,
    platformPrivateKey: row.platform_private_key,
    sellerMemberId: row.seller_member_id ?? undefined,
  };
}

/** Alipay app ids are 16 digits starting with the year of issue; ours are 2021 + 12 random digits. */
function newAppId(): string {
  let digits = '2021';
  for (let i = 0; i < 12; i += 1) digits += String(randomInt(10));
  return digits;
}

const cacheTtlMs = 5_000;
const cacheMax = 10_000;
const idAttemptsMax = 5;

export class AlipayAppService {
  private readonly cache = new Map<string, { app: AlipayApp; expiresAt: number }>();

  constructor(
    private readonly db: Kysely<AlipayDB>,
    private readonly clients: ClientService,
  ) {}

  async create(input: { name: string; merchantPublicKey: string }): Promise<CreateAppResult> {
    const merchantKey = normalizePublicKey(input.merchantPublicKey);
    if (!merchantKey) return { ok: false, reason: 'invalid_public_key' };
    const keys = await generatePlatformKeyPair();
    const client = await this.clients.create({ name: `alipay:${input.name}` });
    for (let attempt = 1; ; attempt += 1) {
      const appId = newAppId();
      const inserted = await this.db
        .insertInto('alipay.app')
        .values({
          app_id: appId,
          client_id: client.id,
          name: input.name,
          merchant_public_key: merchantKey,
          platform_public_key: keys.publicKeyPem,
          platform_private_key: keys.privateKeyPem,
          seller_member_id: null,
        })
        .onConflict((oc) => oc.column('app_id').doNothing())
        .returning('app_id')
        .executeTakeFirst();
      if (inserted) return { ok: true, app: { app_id: appId, client_id: client.id, platform_public_key: keys.publicKeyPem } };
      if (attempt >= idAttemptsMax) throw new Error('could not draw a free app id');
    }
  }

  /** The app, cached briefly: every gateway request reads it. */
  async get(appId: string): Promise<AlipayApp | undefined> {
    if (!/^\d{1,32}$/.test(appId)) return undefined;
    const now = Date.now();
    const cached = this.cache.get(appId);
    if (cached && cached.expiresAt > now) return cached.app;
    const row = await this.db.selectFrom('alipay.app').selectAll().where('app_id', '=', appId).executeTakeFirst();
    if (!row) return undefined;
    const app = toApp(row);
    if (this.cache.size >= cacheMax) this.cache.clear();
    this.cache.set(appId, { app, expiresAt: now + cacheTtlMs });
    return app;
  }

  /** Records the app's seller member once (compare-and-set); returns the one that won. */
  async setSeller(appId: string, memberId: string): Promise<string> {
    await this.db.updateTable('alipay.app').set({ seller_member_id: memberId }).where('app_id', '=', appId).where('seller_member_id', 'is', null).execute();
    this.cache.delete(appId);
    const row = await this.db.selectFrom('alipay.app').select('seller_member_id').where('app_id', '=', appId).executeTakeFirstOrThrow();
    return row.seller_member_id!;
  }
}
