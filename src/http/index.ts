/** The HTTP layer: app builder and the schema pieces routes share. */
export { buildHttpApp, type HttpDeps } from './app.js';
export * from './schemas.js';
