/**
 * The composition root: builds every subsystem over its database handle, wires them together
 * through their public index.ts, and hands the HTTP routes and background workers to the caller.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ClientService, IdempotencyStore, OperatorService, type AccessDB } from '../access/index.js';
import { buildHttpApp } from '../http/index.js';
import { systemClock, type Clock, type Config, type Databases, type Logger, type Worker } from '../platform/index.js';

export interface RuntimeDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly databases: Databases;
  readonly clock?: Clock;
}

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly databases: Databases;
  readonly clients: ClientService;
  readonly operators: OperatorService;
  readonly http: FastifyInstance;
  readonly workers: Worker[];
  startWorkers(): void;
  stopWorkers(): Promise<void>;
}

export async function createRuntime(deps: RuntimeDeps): Promise<Runtime> {
  const { config, logger, databases } = deps;
  const clock = deps.clock ?? systemClock;
  const accessDb = databases.get<AccessDB>('access');
  const clients = new ClientService(accessDb);
  const operators = new OperatorService(accessDb);
  const idempotency = new IdempotencyStore(accessDb, config.idempotencyLockMs);

  const routes: FastifyPluginAsync[] = [];
  const workers: Worker[] = [];

  const http = await buildHttpApp({
    config,
    logger,
    clients,
    operators,
    idempotency,
    readiness: () => databases.ping(),
    routes,
  });

  return {
    config,
    logger,
    clock,
    databases,
    clients,
    operators,
    http,
    workers,
    startWorkers: () => workers.forEach((worker) => worker.start()),
    stopWorkers: async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
    },
  };
}
