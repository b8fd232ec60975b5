/**
 * The trade core: every trade type of SYSTEM.md §3 as a compare-and-set state machine, unique by
 * the client's natural keys, paid and refunded through the payment core. See docs/architecture.md,
 * "## trade".
 */
export { createTradeSubsystem, type TradeSubsystem, type TradeSubsystemDeps } from './trade-subsystem.factory.js';
export { TradeService, defaultTradeOptions, type TradeOptions, type CreateTradeInput } from './trade.service.js';
export { RefundService, type RefundInput } from './refund.service.js';
export { FundsService, nextSettlement } from './funds.service.js';
export { ExceptionRefunds } from './exception-refund.service.js';
export { channelPort } from './channel-port.adapter.js';
export { payBody } from './trade.routes.js';
export { tradeJson, refundJson, rechargeJson, withdrawalJson, transferJson, orderJson, transitions } from './trade.js';
export type { TradeDB, TradeRow, TradeKind } from './trade.table.js';
