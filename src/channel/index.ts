/**
 * The channel gateway (SYSTEM.md §5): what other subsystems and the runtime may use.
 * Gateway core: channels, routing, channel orders, circuit breakers. Gateway front: one adapter
 * per bank (src/channel/front). See docs/architecture.md, "## channel".
 */
export { createChannelSubsystem, callbackBaseUrl, type ChannelDeps, type ChannelSubsystem } from './channel-gateway.factory.js';
export { ChannelGateway, type PayInput, type RefundInput, type OrderResult, type OrderRefusal, type ChannelView, type ResultCursor } from './channel-gateway.service.js';
export type { ChannelOrder } from './channel-order.js';
export type { CardAgreement, SignCardInput, SignCardResult, VerifyCardResult } from './card-binding.service.js';
export type { ResultListener } from './order-processor.js';
export type { CircuitFigures, CircuitState } from './circuit-breaker.js';
export type { ChannelDB, OrderService, OrderStatus, ChannelService } from './channel.table.js';
export { channelRoutes } from './channel.routes.js';
