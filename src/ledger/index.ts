/** The double-entry ledger: every other subsystem moves money only through this. */
export { Ledger, createLedger, defaultLedgerOptions, ledgerOptionsFrom, type LedgerDeps, type LedgerOptions, type LedgerOperations, type OpenAccountResult } from './ledger.service.js';
export { ledgerRoutes, checkToJson } from './ledger.routes.js';
export { refusalToAppError } from './ledger.errors.js';
export type { StoredVoucher } from './account.repository.js';
export type { FeedVoucher } from './voucher-feed.repository.js';
export type * from './ledger.types.js';
export type { LedgerDB } from './ledger.table.js';
