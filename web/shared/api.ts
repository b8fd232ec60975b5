/** fetch for the pages: JSON in and out, the API's error envelope turned into an ApiError. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, auth: string | undefined, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = auth;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  const text = await response.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? 'HTTP_' + response.status, error?.message ?? response.statusText);
  }
  return json as T;
}

/** Minor units → "1,234.56" (amounts stay integers; no float arithmetic on money). */
export function money(minor: number | null | undefined, currency = 'CNY'): string {
  if (minor === null || minor === undefined) return '—';
  const negative = minor < 0;
  const abs = Math.abs(minor);
  const units = Math.floor(abs / 100).toLocaleString('en-US');
  const cents = String(abs % 100).padStart(2, '0');
  return `${negative ? '−' : ''}${currency === 'CNY' ? '¥' : currency + ' '}${units}.${cents}`;
}
