/**
 * The payment core: payment orders of the four basic kinds, payment tools as plugins chosen by a
 * payment rule, and the TCC business activity manager that executes them (one-phase when the
 * participants share the payment database). See docs/architecture.md, "## payment".
 */
export { PaymentService, allocate, defaultPaymentOptions, type PaymentDeps, type PaymentOptions, type Payee, type PlanResult } from './payment.service.js';
export { ActivityManager, type RunResult, type ManagerHooks } from './activity-manager.js';
export { channelAccount, type ActivityView, type BusinessHandlers, type BusinessTrx, type Plan, type PlanEntry, type Refusal, type PhaseInfo } from './activity.js';
export { methodsWellFormed, type MethodInput, type ResolvedPart, type ToolName } from './payment-tools.js';
export { logOf as activityLog } from './activity.repository.js';
export type { PaymentDB, PaymentOrderRow, StoredMethod, ActivityRow } from './payment.table.js';
export type * from './ports.js';
