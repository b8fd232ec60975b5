/**
 * Reliable events: the outbox (emit in the state change's transaction), the relay, the bus
 * (database by default, NATS JetStream with PAYCORE_BUS=nats://…), idempotent consumers with
 * retries and a dead-letter list, broadcasts, and the payment message report.
 */
export { emit, outboxTableSql, processedTableSql } from './outbox.js';
export { toEventJson, bucketOf, matchesTopic, type EventInput, type BusEvent, type JsonValue } from './event.js';
export type { ConsumerSpec, ConsumerItem } from './consumer.js';
export { Events, type EventsDeps } from './events.service.js';
export type { Bus } from './bus.js';
export type { DeadLetter } from './dead-letter.repository.js';
export type { BroadcastHandler } from './broadcast-hub.js';
export { eventsRoutes } from './events.routes.js';
export { paymentReportedTopic, emitPaymentReported, paymentReportPayload, type PaymentReport } from './payment-report.js';
export type { EventsDB } from './events.table.js';
export { clientObjectPayload, asClientObjectPayload, type ClientObjectPayload } from './client-object.js';
