/** Finds the database: DATABASE_URL when set, else the embedded PostgreSQL under the data dir. */
import { Databases, ensureDatabase, startEmbedded, type Config, type EmbeddedHandle, type Logger } from '../platform/index.js';

export interface OpenedDatabases {
  readonly databases: Databases;
  readonly embedded: EmbeddedHandle | undefined;
  close(): Promise<void>;
}

export async function openDatabases(config: Config, logger: Logger): Promise<OpenedDatabases> {
  let embedded: EmbeddedHandle | undefined;
  let main = config.databaseUrl;
  if (!main) {
    const log = logger.child({ component: 'embedded-postgres' });
    embedded = await startEmbedded({
      dataDir: config.dataDir,
      port: config.embeddedPgPort,
      database: 'paycore',
      onLog: (line) => log.debug(line.trim()),
    });
    main = embedded.url;
  } else {
    await ensureDatabase(main);
  }
  const databases = new Databases({ main, perSubsystem: config.subsystemDatabaseUrls }, config.dbPoolMax);
  return {
    databases,
    embedded,
    async close() {
      await databases.close();
      if (embedded?.owned) await embedded.stop();
    },
  };
}
