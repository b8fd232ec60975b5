/**
 * The gateway's protocol layer: who is calling (app), whether they signed it (RSA2 with the
 * merchant's key), whether it is fresh, then the method; every answer signed with the app's
 * platform key. v2 and v3 differ only in framing; both end in AlipayMethods.run.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, Logger, PlatformContext } from '../platform/index.js';
import type { AlipayApp, AlipayAppService } from './alipay-app.service.js';
import type { AlipayMethods } from './alipay-methods.js';
import type { NonceRepository } from './nonce.repository.js';
import { invalid, missing, unavailable, v2ResponseValue, v3Status, type MethodResult } from './alipay-result.js';
import { parseAlipayTime } from './alipay-time.js';
import { parseV3Authorization, signedV2Body, signRsa2, v2RequestContent, v3RequestContent, v3ResponseContent, verifyRsa2 } from './rsa-signature.js';

export interface GatewayDeps {
  readonly apps: AlipayAppService;
  readonly methods: AlipayMethods;
  readonly nonces: NonceRepository;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timestampWindowMs: number;
  readonly timeZone: string;
  /** The notify subsystem's check: http(s), no credentials. */
  readonly usableNotifyUrl: (raw: string) => string | undefined;
}

/** A v2 answer: the signed JSON text, or (page.pay) where to send the browser. */
export type V2Answer = { kind: 'json'; body: string } | { kind: 'redirect'; location: string };

export interface V3Request {
  readonly httpMethod: string;
  /** Path and query exactly as on the request line: part of what was signed. */
  readonly rawUrl: string;
  readonly authorization: string | undefined;
  readonly appAuthToken: string | undefined;
  readonly rawBody: string;
  readonly body: unknown;
  readonly query: Record<string, string>;
}

export interface V3Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export class AlipayGateway {
  constructor(private readonly deps: GatewayDeps) {}

  private fresh(timestampMs: number): boolean {
    return Math.abs(this.deps.clock.now().getTime() - timestampMs) <= this.deps.timestampWindowMs;
  }

  /** Runs a method, turning an unexpected failure into Alipay's "try again" (logged in full). */
  private async run(app: AlipayApp, method: string, biz: Record<string, unknown>, notifyUrl: string | undefined, baseUrl: string, traceId: string): Promise<MethodResult> {
    const ctx: PlatformContext = { client: app.clientId, traceId, merchant: app.appId };
    try {
      return await this.deps.methods.run({ app, method, biz, notifyUrl, baseUrl, ctx });
    } catch (error) {
      this.deps.logger.error({ err: error, method, appId: app.appId, traceId }, 'alipay method failed');
      return unavailable();
    }
  }

  /** v2: the merged query and form parameters (values decoded once, as they were signed). */
  async handleV2(params: Readonly<Record<string, string>>, baseUrl: string, traceId: string): Promise<V2Answer> {
    const method = params.method;
    const responseKey = method && /^[a-z][a-z0-9.]{0,127}$/.test(method) ? `${method.replace(/\./g, '_')}_response` : 'error_response';
    const unsigned = (result: MethodResult): V2Answer => ({ kind: 'json', body: JSON.stringify({ [responseKey]: v2ResponseValue(result) }) });
    if (!method) return unsigned(missing('method'));
    if (!params.app_id) return unsigned(missing('app_id'));
    const app = await this.deps.apps.get(params.app_id);
    if (!app) return unsigned(invalid('isv.invalid-app-id', 'no such app_id'));
    const signed = (result: MethodResult): V2Answer => ({ kind: 'json', body: signedV2Body(responseKey, v2ResponseValue(result), app.platformPrivateKey) });
    const refusal = this.checkV2(app, params);
    if (refusal) return signed(refusal);
    const biz = parseBizContent(params.biz_content);
    if (!biz) return signed(invalid('isv.invalid-parameter', 'biz_content must be a JSON object'));
    if (!this.deps.methods.supports(method)) return signed(invalid('isv.invalid-method', `unknown method ${method}`));
    const notifyUrl = params.notify_url ? this.deps.usableNotifyUrl(params.notify_url) : undefined;
    if (params.notify_url && !notifyUrl) return signed(invalid('isv.invalid-parameter', 'notify_url must be an http(s) URL'));
    const result = await this.run(app, method, biz, notifyUrl, baseUrl, traceId);
    if (method === 'alipay.trade.page.pay' && result.ok) return { kind: 'redirect', location: String(result.fields.qr_code) };
    return signed(result);
  }

  /** The common-parameter checks of v2, in Alipay's order; undefined when the request may proceed. */
  private checkV2(app: AlipayApp, params: Readonly<Record<string, string>>): MethodResult | undefined {
    if (!params.sign_type) return missing('signature_type');
    if (params.sign_type !== 'RSA2') return invalid('isv.invalid-signature-type', 'sign_type must be RSA2');
    if (params.charset && params.charset.toLowerCase() !== 'utf-8') return invalid('isv.invalid-charset', 'charset must be utf-8');
    if (!params.sign) return missing('signature');
    if (!params.timestamp) return missing('timestamp');
    const timestampMs = parseAlipayTime(params.timestamp, this.deps.timeZone);
    if (timestampMs === undefined) return invalid('isv.invalid-timestamp', 'timestamp must be yyyy-MM-dd HH:mm:ss');
    if (!verifyRsa2(v2RequestContent(params), params.sign, app.merchantPublicKey)) {
      return invalid('isv.invalid-signature', 'the signature does not verify with the app public key (sorted k=v& of every parameter but sign, RSA-SHA256)');
    }
    if (!this.fresh(timestampMs)) return invalid('isv.invalid-timestamp', `timestamp is more than ${this.deps.timestampWindowMs / 1000} s from now (${this.deps.timeZone} time)`);
    return undefined;
  }

  /** v3: `/v3/alipay/<a>/<b>/…` → method `alipay.<a>.<b>…`, the JSON body (POST) or query (GET) as parameters. */
  async handleV3(request: V3Request, baseUrl: string, traceId: string): Promise<V3Answer> {
    const path = request.rawUrl.split('?')[0]!;
    const method = path.slice('/v3/'.length).split('/').join('.');
    const auth = parseV3Authorization(request.authorization);
    if (!auth) return this.v3Failure(undefined, missing('authorization'), traceId);
    const app = await this.deps.apps.get(auth.appId);
    if (!app) return this.v3Failure(undefined, invalid('isv.invalid-app-id', 'no such app_id'), traceId);
    const content = v3RequestContent(auth.authString, request.httpMethod, request.rawUrl, request.rawBody, request.appAuthToken);
    if (!verifyRsa2(content, auth.sign, app.merchantPublicKey)) return this.v3Failure(app, invalid('isv.invalid-signature', 'the signature does not verify with the app public key'), traceId);
    if (!this.fresh(auth.timestampMs)) return this.v3Failure(app, invalid('isv.invalid-timestamp', `timestamp is more than ${this.deps.timestampWindowMs / 1000} s from now`), traceId);
    // Fresh until timestamp + window: the nonce must stay unique that long.
    if (!(await this.deps.nonces.claim(app.appId, auth.nonce, new Date(auth.timestampMs + this.deps.timestampWindowMs)))) {
      return this.v3Failure(app, invalid('isv.invalid-nonce', 'this nonce was already used: a replayed request'), traceId);
    }
    if (!this.deps.methods.supports(method)) return this.v3Failure(app, invalid('isv.invalid-method', `no such API ${path}`), traceId, 404);
    const biz = request.httpMethod === 'GET' ? request.query : request.body;
    if (biz === null || typeof biz !== 'object' || Array.isArray(biz)) return this.v3Failure(app, invalid('isv.invalid-parameter', 'the body must be a JSON object'), traceId);
    const rawNotify = (biz as Record<string, unknown>).notify_url;
    const notifyUrl = typeof rawNotify === 'string' && rawNotify ? this.deps.usableNotifyUrl(rawNotify) : undefined;
    if (rawNotify !== undefined && rawNotify !== '' && !notifyUrl) return this.v3Failure(app, invalid('isv.invalid-parameter', 'notify_url must be an http(s) URL'), traceId);
    const result = await this.run(app, method, biz as Record<string, unknown>, notifyUrl, baseUrl, traceId);
    if (!result.ok) return this.v3Failure(app, result, traceId);
    return this.v3Signed(app, 200, JSON.stringify(result.fields), traceId);
  }

  private v3Failure(app: AlipayApp | undefined, failure: MethodResult & { ok: false }, traceId: string, status = v3Status(failure)): V3Answer {
    const body = JSON.stringify({ code: failure.subCode, message: failure.subMsg });
    if (!app) return { status, headers: { 'alipay-trace-id': traceId }, body };
    return this.v3Signed(app, status, body, traceId);
  }

  private v3Signed(app: AlipayApp, status: number, body: string, traceId: string): V3Answer {
    const timestamp = String(this.deps.clock.now().getTime());
    const nonce = randomUUID();
    const signature = signRsa2(v3ResponseContent(timestamp, nonce, body), app.platformPrivateKey);
    return { status, headers: { 'alipay-timestamp': timestamp, 'alipay-nonce': nonce, 'alipay-signature': signature, 'alipay-trace-id': traceId }, body };
  }
}

/** biz_content as an object; absent is an empty object (some methods take none). */
function parseBizContent(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined || raw === '') return {};
  try {
    const value: unknown = JSON.parse(raw);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
