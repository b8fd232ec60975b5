/**
 * Marketing (SYSTEM.md §1, §4): coupons and red packets issued from the platform's marketing
 * account, usable as payment tools through a fenced TCC participant.
 */
export { MarketingService, type MarketingDeps, type MarketingOptions, type IssueInput, type IssueResult } from './marketing.service.js';
export { issuedAccountCode, marketingAccountCode, type PaymentTool, type ToolKind, type MarketingParticipant, type TryReserveInput, type TryReserveResult } from './payment-tool.js';
export { marketingRoutes } from './marketing.routes.js';
export type { MarketingDB } from './marketing.table.js';
