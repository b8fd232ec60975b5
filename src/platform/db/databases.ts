/**
 * Where each subsystem's data lives. Every subsystem gets its database handle from here and
 * nowhere else, so any one of them can be moved to a database of its own by setting
 * `<SUBSYSTEM>_DATABASE_URL` (the seeds' vertical split). Handles on one URL share one pool.
 */
import type pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { subsystems, type Subsystem } from '../config.js';
import { createKysely, createPool, ensureDatabase } from './database.js';
import { migrateSubsystem } from './migrator.js';

export interface DatabaseUrls {
  readonly main: string;
  readonly perSubsystem: Partial<Record<Subsystem, string>>;
}

/** The registry of per-subsystem database handles. */
export class Databases {
  private readonly pools = new Map<string, pg.Pool>();
  private readonly handles = new Map<Subsystem, Kysely<unknown>>();

  constructor(
    readonly urls: DatabaseUrls,
    private readonly poolMax: number,
  ) {}

  /** The URL a subsystem's schema lives at. */
  url(subsystem: Subsystem): string {
    return this.urls.perSubsystem[subsystem] ?? this.urls.main;
  }

  /** The pool behind a subsystem's handle (for LISTEN/NOTIFY and raw driver work). */
  pool(subsystem: Subsystem): pg.Pool {
    const url = this.url(subsystem);
    let pool = this.pools.get(url);
    if (!pool) {
      pool = createPool(url, { max: this.poolMax, applicationName: `paycore` });
      this.pools.set(url, pool);
    }
    return pool;
  }

  /** A subsystem's typed handle; the type parameter is that subsystem's own table map. */
  get<DB>(subsystem: Subsystem): Kysely<DB> {
    let handle = this.handles.get(subsystem);
    if (!handle) {
      handle = createKysely<unknown>(this.pool(subsystem));
      this.handles.set(subsystem, handle);
    }
    return handle as Kysely<DB>;
  }

  /** True when two subsystems live in the same database, so one local transaction can span both. */
  shareDatabase(a: Subsystem, b: Subsystem): boolean {
    return this.url(a) === this.url(b);
  }

  /** Creates any missing per-subsystem databases, then applies every subsystem's migrations. */
  async migrate(): Promise<string[]> {
    const distinct = new Set(subsystems.map((s) => this.url(s)));
    for (const url of distinct) if (url !== this.urls.main) await ensureDatabase(url);
    const applied: string[] = [];
    for (const subsystem of subsystems) applied.push(...(await migrateSubsystem(this.get(subsystem), subsystem)));
    return applied;
  }

  /** Pings every distinct database; the readiness probe's answer. */
  async ping(): Promise<Record<string, boolean>> {
    const result: Record<string, boolean> = {};
    await Promise.all(
      subsystems.map(async (subsystem) => {
        try {
          await sql`select 1`.execute(this.get(subsystem));
          result[subsystem] = true;
        } catch {
          result[subsystem] = false;
        }
      }),
    );
    return result;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    this.handles.clear();
    await Promise.all(pools.map((pool) => pool.end()));
  }
}
