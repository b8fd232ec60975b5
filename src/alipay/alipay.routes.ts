/**
 * HTTP framing of the gateway: `/gateway.do` (v2, form-encoded, answers in HTTP 200 JSON),
 * `/v3/alipay/*` (v3, JSON, signature headers) and the bill download. Each is its own
 * encapsulated plugin: the form parser and Alipay-shaped error answers stay inside it.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { billPath, type BillService } from './bill.service.js';
import type { AlipayGateway } from './alipay-gateway.service.js';
import { qrPath, type AlipayMethods } from './alipay-methods.js';
import { v3Status } from './alipay-result.js';

const formType = 'application/x-www-form-urlencoded';
/** Parameters per request: Alipay's common ones plus biz_content and a few more; far below this. */
const paramsMax = 64;

/** Form text → parameters, decoded once; undefined on a repeated key or too many keys (ambiguous to sign). */
function parseForm(text: string): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(params, key) || (count += 1) > paramsMax) return undefined;
    params[key] = value;
  }
  return params;
}

function rawQuery(request: FastifyRequest): string {
  const at = request.url.indexOf('?');
  return at < 0 ? '' : request.url.slice(at + 1);
}

function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

const v2Failure = (subCode: string, subMsg: string): string =>
  JSON.stringify({ error_response: { code: '40002', msg: 'Invalid Arguments', sub_code: subCode, sub_msg: subMsg } });

const openObject = { type: 'object' } as const;

function gatewayV2(gateway: AlipayGateway): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.addContentTypeParser(formType, { parseAs: 'string' }, (request, body, done) => {
      request.rawBody = body as string;
      done(null, { form: body as string });
    });
    app.setErrorHandler((error, request, reply) => {
      const code = (error as { code?: string }).code;
      if (code !== 'FST_ERR_CTP_BODY_TOO_LARGE' && code !== 'FST_ERR_CTP_INVALID_MEDIA_TYPE') request.log.error({ err: error }, 'alipay v2 request failed');
      return reply.code(200).type('application/json;charset=utf-8').send(v2Failure('isv.invalid-parameter', 'the request could not be read'));
    });
    const handler = async (request: FastifyRequest<{ Body: { form?: string } | undefined }>, reply: import('fastify').FastifyReply) => {
      const query = parseForm(rawQuery(request));
      const form = parseForm(request.body?.form ?? '');
      if (!query || !form) return reply.type('application/json;charset=utf-8').send(v2Failure('isv.invalid-parameter', 'a parameter is repeated'));
      for (const key of Object.keys(form)) {
        if (Object.hasOwn(query, key)) return reply.type('application/json;charset=utf-8').send(v2Failure('isv.invalid-parameter', `parameter ${key} is both in the URL and the body`));
      }
      const answer = await gateway.handleV2({ ...query, ...form }, baseUrl(request), request.id);
      if (answer.kind === 'redirect') return reply.redirect(answer.location, 302);
      return reply.type('application/json;charset=utf-8').send(answer.body);
    };
    const options = { config: { auth: 'none' as const }, schema: { querystring: openObject } };
    app.post('/gateway.do', options, handler);
    // page.pay's GET form: everything in the URL.
    app.get('/gateway.do', options, handler);
  };
}

function gatewayV3(gateway: AlipayGateway): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.setErrorHandler((error, request, reply) => {
      const code = (error as { code?: string }).code;
      const known = code === 'FST_ERR_CTP_BODY_TOO_LARGE' || code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || (error as { code?: string }).code === 'MALFORMED_JSON';
      if (!known) request.log.error({ err: error }, 'alipay v3 request failed');
      return reply.code(400).type('application/json;charset=utf-8').send({ code: 'isv.invalid-parameter', message: 'the request could not be read' });
    });
    const handler = async (request: FastifyRequest, reply: import('fastify').FastifyReply) => {
      const header = (name: string): string | undefined => {
        const value = request.headers[name];
        return typeof value === 'string' ? value : undefined;
      };
      const answer = await gateway.handleV3(
        {
          httpMethod: request.method,
          rawUrl: request.url,
          authorization: header('authorization'),
          appAuthToken: header('alipay-app-auth-token'),
          rawBody: request.rawBody ?? '',
          body: request.body,
          query: parseForm(rawQuery(request)) ?? {},
        },
        baseUrl(request),
        request.id,
      );
      return reply.code(answer.status).headers(answer.headers).type('application/json;charset=utf-8').send(answer.body);
    };
    app.route({ method: ['GET', 'POST'], url: '/v3/alipay/*', config: { auth: 'none' }, schema: { querystring: openObject }, handler });
  };
}

const billQuerySchema = {
  type: 'object',
  required: ['app_id', 'bill_type', 'bill_date', 'expires', 'sig'],
  additionalProperties: false,
  properties: {
    app_id: { type: 'string', pattern: '^\\d{1,32}$' },
    bill_type: { type: 'string', enum: ['trade'] },
    bill_date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    expires: { type: 'string', pattern: '^\\d{1,15}$' },
    sig: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,1024}$' },
  },
} as const;

function billDownload(bills: BillService): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.get<{ Querystring: { app_id: string; bill_type: string; bill_date: string; expires: string; sig: string } }>(
      billPath,
      { config: { auth: 'none' }, schema: { querystring: billQuerySchema } },
      async (request, reply) => {
        const result = await bills.download(request.query);
        if (!result.ok) return reply.code(result.reason === 'expired' ? 410 : 403).type('text/plain;charset=utf-8').send(result.reason === 'expired' ? 'bill URL expired\n' : 'invalid bill URL\n');
        return reply.type('text/csv;charset=utf-8').header('content-disposition', `attachment; filename="${result.filename}"`).send(result.csv);
      },
    );
  };
}

const qrParamsSchema = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', pattern: '^[0-9a-f-]{36}$' } } } as const;
const qrPayBodySchema = { type: 'object', required: ['auth_code'], additionalProperties: false, properties: { auth_code: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

/**
 * Where a precreate / page.pay QR code points: the wallet side. GET shows the order; POST `/pay`
 * with the buyer's one-time payment code (API.md) creates the trade and pays it from balance.
 * Answers like v3: 200 with the result, or an HTTP error with `{code, message}`.
 */
function qrWallet(methods: AlipayMethods): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.get<{ Params: { id: string } }>(`${qrPath}/:id`, { config: { auth: 'none' }, schema: { params: qrParamsSchema } }, async (request, reply) => {
      const order = await methods.preOrderView(request.params.id);
      if (!order) return reply.code(404).send({ code: 'ACQ.TRADE_NOT_EXIST', message: 'no such order' });
      return order;
    });
    app.post<{ Params: { id: string }; Body: { auth_code: string } }>(
      `${qrPath}/:id/pay`,
      { config: { auth: 'none' }, schema: { params: qrParamsSchema, body: qrPayBodySchema } },
      async (request, reply) => {
        const result = await methods.payPreOrder(request.params.id, request.body.auth_code, request.id, baseUrl(request));
        if (!result.ok) return reply.code(v3Status(result)).send({ code: result.subCode, message: result.subMsg });
        return result.fields;
      },
    );
  };
}

/** Every Alipay route, as plugins for the HTTP app. */
export function alipayRoutes(gateway: AlipayGateway, bills: BillService, methods: AlipayMethods): FastifyPluginAsync[] {
  return [gatewayV2(gateway), gatewayV3(gateway), billDownload(bills), qrWallet(methods)];
}
