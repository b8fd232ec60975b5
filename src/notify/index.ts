/**
 * Outgoing notifications: merchant notify_url POSTs signed with `Paycore-Signature`, delivered
 * from a persisted schedule by workers; pluggable kinds (signer, schedule, timeout, acknowledgement)
 * for the Alipay gateway's notifications; operator list and resend.
 */
export { NotifyService, type NotifyDeps } from './notify.service.js';
export { notifyRoutes } from './notify.routes.js';
export { merchantKind, type DeliveryKind, type PreparedRequest } from './delivery-kind.js';
export type { NewDelivery, TryOutcome } from './delivery.repository.js';
export { signPayload, verifySignature, signatureHeader } from './signature.js';
export { merchantTopics, usableNotifyUrl } from './merchant-notify.consumer.js';
export type { NotifyDB, DeliveryRow } from './notify.table.js';
