/** What Paycore adds to Fastify's request and route config. */
import 'fastify';
import type { Client, Operator, OperatorRole } from '../access/index.js';
import type { PlatformContext } from '../platform/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: an API client (default under /v1), an operator, or anyone. */
    auth?: 'client' | 'operator' | 'none';
    /** The least operator role the route needs (operator routes only; default viewer). */
    role?: OperatorRole;
  }
  interface FastifyRequest {
    client?: Client;
    operator?: Operator;
    ctx: PlatformContext;
    rawBody?: string;
  }
}
