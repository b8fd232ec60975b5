/** The platform kernel: what every subsystem may use. */
export * from './money.js';
export { newId, isId } from './id.js';
export { systemClock, ManualClock, type Clock } from './clock.js';
export { systemContext, withContext, type PlatformContext } from './context.js';
export { AppError, errorBody, errorCodes, type ErrorCode } from './errors.js';
export { loadConfig, ConfigError, subsystems, type Config, type Subsystem, type BankEndpoints, type ChannelTuning, type AlipayTuning, type TradeTuning, type FundsTuning } from './config.js';
export { createLogger, redactPaths, type Logger } from './logger.js';
export { Databases, type DatabaseUrls } from './db/databases.js';
export { createPool, createKysely, ensureDatabase, withDatabaseName, pgTypes, type Transaction } from './db/database.js';
export { startEmbedded, type EmbeddedHandle } from './db/embedded.js';
export { sha256Hex, randomToken, hashPassword, verifyPassword } from './crypto.js';
export type { Kysely } from 'kysely';
export { freePort } from './net.js';
export { intervalWorker, backoffWorker, type Worker, type WakeableWorker, type PollOutcome } from './worker.js';
