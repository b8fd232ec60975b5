/** Access control: API clients and keys, operators, the Idempotency-Key store. */
export { ClientService, type Client, type CreatedClient } from './client.service.js';
export { OperatorService, operatorRoles, roleAllows, type Operator, type OperatorRole, type CreatedOperator } from './operator.service.js';
export { IdempotencyStore, type IdempotencyClaim } from './idempotency.store.js';
export type { AccessDB } from './access.table.js';
