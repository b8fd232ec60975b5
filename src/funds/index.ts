/**
 * The funds side (SYSTEM.md §7): accounting (GL subjects, daily GL from the ledger's voucher feed,
 * trial balance, balance sheet, income statement, day close), clearing and settlement, external
 * and internal reconciliation, and the compliance export. See docs/architecture.md, "## funds".
 */
export { Funds, createFunds, type FundsDeps } from './funds.service.js';
export { fundsRoutes, trialBalanceJson, amountsToJson } from './funds.routes.js';
export { subjects, subjectRules, subjectByType, subjectOf, fundsAccountCodes, type Subject, type SubjectClass, type SubjectCode } from './gl-subject.js';
export type { GlLine, TrialBalance, TrialBalanceLine, BalanceSheet, IncomeStatement, DayCloseResult } from './accounting.service.js';
export { proposeCorrection, httpStatementSource, type ChannelOrderSource, type StatementSource, type ReconRunResult, type AcceptResult, type Proposal } from './recon.service.js';
export { parseStatement, type BankLine } from './statement.parser.js';
export { feeOf, type SettleResult } from './merchant-settlement.service.js';
export { complianceHeader } from './compliance-export.service.js';
export type { FundsDB, ReconRunRow, DiscrepancyRow, TradeCheckRow, MerchantSettlementRow } from './funds.table.js';
