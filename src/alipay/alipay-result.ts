/**
 * The outcomes a gateway method answers with: success fields, or one of Alipay's public error
 * codes with a sub code. v2 puts them in the signed `_response` object; v3 turns a failure into
 * an HTTP status with `{code, message}`.
 */
export type FailureCode = '20000' | '40001' | '40002' | '40004' | '40006';

export interface AlipayFailure {
  readonly code: FailureCode;
  readonly subCode: string;
  readonly subMsg: string;
}

export type MethodResult = { readonly ok: true; readonly fields: Record<string, unknown> } | ({ readonly ok: false } & AlipayFailure);

const gatewayMessages: Record<FailureCode | '10000', string> = {
  '10000': 'Success',
  '20000': 'Service Currently Unavailable',
  '40001': 'Missing Required Arguments',
  '40002': 'Invalid Arguments',
  '40004': 'Business Failed',
  '40006': 'Insufficient Permissions',
};

export function success(fields: Record<string, unknown>): MethodResult {
  return { ok: true, fields };
}

/** 40001: a required parameter is absent (`isv.missing-<name>`). */
export function missing(name: string): MethodResult & { ok: false } {
  return { ok: false, code: '40001', subCode: `isv.missing-${name.replace(/_/g, '-')}`, subMsg: `missing parameter ${name}` };
}

/** 40002: a parameter is present but wrong (`isv.invalid-signature`, `isv.invalid-parameter`, …). */
export function invalid(subCode: string, subMsg: string): MethodResult & { ok: false } {
  return { ok: false, code: '40002', subCode, subMsg };
}

/** 40004: the business refused (`ACQ.*` for trades, Alipay's fund codes for transfers). */
export function business(subCode: string, subMsg: string): MethodResult & { ok: false } {
  return { ok: false, code: '40004', subCode, subMsg };
}

/** 20000: try again later (a dependency failed; the request may be repeated safely). */
export function unavailable(subMsg = 'service temporarily unavailable'): MethodResult & { ok: false } {
  return { ok: false, code: '20000', subCode: 'isp.unknow-error', subMsg };
}

/** The v2 `_response` object: code and msg first, as Alipay writes them. */
export function v2ResponseValue(result: MethodResult): Record<string, unknown> {
  if (result.ok) return { code: '10000', msg: gatewayMessages['10000'], ...result.fields };
  return { code: result.code, msg: gatewayMessages[result.code], sub_code: result.subCode, sub_msg: result.subMsg };
}

/** v3: a failure's HTTP status; the body is `{code: <sub code>, message}`. */
export function v3Status(failure: AlipayFailure): number {
  if (failure.subCode === 'isv.invalid-signature' || failure.subCode === 'isv.invalid-app-id') return 401;
  if (failure.code === '20000') return 503;
  if (failure.code === '40004' && failure.subCode.endsWith('SYSTEM_ERROR')) return 500;
  if (failure.code === '40006') return 403;
  if (failure.code === '40004' && failure.subCode === 'ACQ.TRADE_NOT_EXIST') return 404;
  return 400;
}
