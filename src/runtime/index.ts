/** Runtime assembly: database discovery and the composition root. */
export { openDatabases, type OpenedDatabases } from './databases.js';
export { createRuntime, type Runtime, type RuntimeDeps } from './runtime.js';
