/** An API client over a test platform's HTTP app (inject), and a card bound the way a business system binds one. */
import assert from 'node:assert/strict';
import type { TestPlatform } from '../support/platform.js';

export type Api = (method: 'GET' | 'POST', url: string, body?: unknown) => Promise<{ status: number; body: Record<string, any> }>;

export function apiClient(platform: () => TestPlatform, key: () => string): Api {
  return async (method, url, body) => {
    const response = await platform().runtime.http.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : {} };
  };
}

let phones = 0;

/** Binds a card over HTTP with the sandbox's SMS code; the phone is unique per process and call. */
export async function bindCardOverHttp(api: Api, memberId: string, cardNo: string, holderName = 'Han Meimei'): Promise<string> {
  phones += 1;
  const phone = `13${String(process.pid % 100_000).padStart(5, '0')}${String(phones).padStart(4, '0')}`;
  const signed = await api('POST', `/v1/members/${memberId}/cards`, { card_no: cardNo, holder_name: holderName, phone });
  assert.ok(signed.status === 201 || signed.status === 200, JSON.stringify(signed.body));
  const sms = await api('GET', `/v1/sandbox/sms?phone=${phone}`);
  const verified = await api('POST', `/v1/cards/${signed.body.id}/verify`, { sms_code: sms.body.code });
  assert.equal(verified.body.status, 'active', JSON.stringify(verified.body));
  return signed.body.id as string;
}
