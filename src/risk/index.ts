/** Risk (SYSTEM.md §1): blacklist, single and daily limits per member and tool, the password threshold. */
export { RiskService, riskTools, dayOf, type RiskTool, type RiskLimits, type RiskDefaults, type AssessInput, type AssessResult, type RecordInput } from './risk.service.js';
export { riskRoutes } from './risk.routes.js';
export type { RiskDB } from './risk.table.js';
