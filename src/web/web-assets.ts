/**
 * Serves the built pages (web-dist/, made by `npm run build:web` from web/; prestart and pretest
 * build it when missing or stale). The cashier and the console are single pages: every path
 * under them answers their index.html; assets have content hashes in their names, so they are
 * cached for good. Nothing comes from a CDN.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { AppError } from '../platform/index.js';

export const webDistDir = fileURLToPath(new URL('../../web-dist/', import.meta.url));

const types: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

// The pages load only their own scripts and styles and talk only to this origin; neither may be framed.
const pageHeaders = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

const noQuery = { type: 'object', additionalProperties: false } as const;
const assetParams = { type: 'object', required: ['file'], additionalProperties: false, properties: { file: { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*\\.(js|css|svg|map)$', maxLength: 128 } } } as const;
const tradeParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } } } as const;

async function page(reply: FastifyReply, name: 'cashier' | 'console'): Promise<FastifyReply> {
  let html: string;
  try {
    html = await fs.readFile(path.join(webDistDir, name, 'index.html'), 'utf8');
  } catch {
    throw new AppError('DEPENDENCY_UNAVAILABLE', { dependency: 'web assets: run npm run build:web' });
  }
  return reply.headers(pageHeaders).type('text/html; charset=utf-8').send(html);
}

export function webAssetRoutes(): FastifyPluginAsync {
  return async (app) => {
    app.get('/cashier/:id', { config: { auth: 'none' }, schema: { params: tradeParams, querystring: noQuery } }, async (_request, reply) => page(reply, 'cashier'));
    app.get('/console', { config: { auth: 'none' }, schema: { querystring: noQuery } }, async (_request, reply) => page(reply, 'console'));
    app.get<{ Params: { file: string } }>('/ui/assets/:file', { config: { auth: 'none' }, schema: { params: assetParams, querystring: noQuery } }, async (request, reply) => {
      const file = request.params.file;
      let body: Buffer;
      try {
        body = await fs.readFile(path.join(webDistDir, 'assets', file));
      } catch {
        throw new AppError('NOT_FOUND');
      }
      return reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .type(types[path.extname(file)] ?? 'application/octet-stream')
        .send(body);
    });
  };
}
