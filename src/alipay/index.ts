/**
 * The Alipay-compatible gateway (ALIPAY.md): apps and their keys, v2 `/gateway.do` and v3
 * `/v3/alipay/...` with RSA2 both ways, the open-API methods mapped onto the trade core, the
 * bill download and Alipay-style notifications on the notify subsystem.
 */
export { createAlipaySubsystem, type AlipaySubsystem, type AlipayDeps } from './alipay.subsystem.js';
export { AlipayAppService, type AlipayApp, type CreatedAlipayApp, type CreateAppResult } from './alipay-app.service.js';
export type { TradeCorePort, PortTrade, PortRefund, PortTransfer, PortResult, CreateTradeInput } from './trade-core.port.js';
export { parseAlipayTime, formatAlipayTime } from './alipay-time.js';
export { parseYuan, formatYuan } from './alipay-amount.js';
export type { AlipayDB } from './alipay.table.js';
export { tradeCorePort, tradePartOf, refusalsAsCodes, type TradePart } from './trade-core.adapter.js';
