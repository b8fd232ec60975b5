/**
 * Alipay's RSA2 signatures (RSA-SHA256, PKCS#1 v1.5, base64), the strings they cover, and the
 * keys. What is signed is byte-for-byte what alipay-sdk 4.x signs and verifies: v2 requests over
 * sorted raw `k=v&…`, v2 responses over the exact JSON text of the `_response` value, v3 over
 * newline-joined parts, notifications over sorted parameters without `sign` and `sign_type`.
 */
import { createPrivateKey, createPublicKey, createSign, createVerify, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);
const minModulusBits = 2048;

export interface PlatformKeyPair {
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
}

/** A fresh 2048-bit RSA key pair for an app: SPKI and PKCS#8 PEM. */
export async function generatePlatformKeyPair(): Promise<PlatformKeyPair> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: minModulusBits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/**
 * Reads a merchant's RSA public key as the Alipay console hands it around: SPKI or PKCS#1 PEM,
 * or the bare base64 body of an SPKI key. Returns it as SPKI PEM, or undefined if it is not an
 * RSA public key of at least 2048 bits.
 */
export function normalizePublicKey(text: string): string | undefined {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) key = createPublicKey(trimmed);
    else key = createPublicKey({ key: Buffer.from(trimmed.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
  if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < minModulusBits) return undefined;
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

// Parsing a PEM costs more than a signature check; apps are few, keep their KeyObjects.
const keyCache = new Map<string, KeyObject>();
const keyCacheMax = 10_000;

function keyObject(pem: string, kind: 'public' | 'private'): KeyObject {
  let key = keyCache.get(pem);
  if (!key) {
    key = kind === 'public' ? createPublicKey(pem) : createPrivateKey(pem);
    if (keyCache.size >= keyCacheMax) keyCache.clear();
    keyCache.set(pem, key);
  }
  return key;
}

export function signRsa2(content: string, privateKeyPem: string): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(keyObject(privateKeyPem, 'private'), 'base64');
}

export function verifyRsa2(content: string, signature: string, publicKeyPem: string): boolean {
  if (!/^[A-Za-z0-9+/=\s]{1,2048}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(content, 'utf8').verify(keyObject(publicKeyPem, 'public'), signature, 'base64');
  } catch {
    return false;
  }
}

/** `k=v&…` over the parameters, keys sorted ascending, raw values, leaving out the named keys. */
export function sortedParamsContent(params: Readonly<Record<string, string>>, exclude: readonly string[]): string {
  return Object.keys(params)
    .filter((key) => !exclude.includes(key))
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

/** The v2 request's signed content: every parameter but `sign` (sign_type included, as the SDK signs it). */
export function v2RequestContent(params: Readonly<Record<string, string>>): string {
  return sortedParamsContent(params, ['sign']);
}

/** A notification's signed content: every parameter but `sign` and `sign_type`. */
export function notifyContent(params: Readonly<Record<string, string>>): string {
  return sortedParamsContent(params, ['sign', 'sign_type']);
}

/**
 * The v2 response body: `{"<key>":<json>,"sign":"…"}` with the signature over exactly the JSON
 * text placed after the key, which is what the SDK cuts out and verifies.
 */
export function signedV2Body(responseKey: string, value: Record<string, unknown>, privateKeyPem: string): string {
  const json = JSON.stringify(value);
  return `{${JSON.stringify(responseKey)}:${json},"sign":${JSON.stringify(signRsa2(json, privateKeyPem))}}`;
}

/** The parameters of a v3 `authorization: ALIPAY-SHA256withRSA k=v,…,sign=…` header. */
export interface V3Authorization {
  /** The header's text before `,sign=`: exactly what was signed as the first line. */
  readonly authString: string;
  readonly appId: string;
  readonly nonce: string;
  readonly timestampMs: number;
  readonly sign: string;
}

export function parseV3Authorization(header: string | undefined): V3Authorization | undefined {
  const match = /^ALIPAY-SHA256withRSA (.+),sign=([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return undefined;
  const authString = match[1]!;
  const fields = new Map<string, string>();
  for (const part of authString.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const appId = fields.get('app_id');
  const nonce = fields.get('nonce');
  const timestamp = fields.get('timestamp');
  if (!appId || !nonce || nonce.length > 128 || !timestamp || !/^\d{1,15}$/.test(timestamp)) return undefined;
  return { authString, appId, nonce, timestampMs: Number(timestamp), sign: match[2]! };
}

/** The v3 request's signed content; an `alipay-app-auth-token` header adds a line. */
export function v3RequestContent(authString: string, method: string, pathAndQuery: string, body: string, appAuthToken?: string): string {
  return `${authString}\n${method}\n${pathAndQuery}\n${body}\n${appAuthToken !== undefined ? `${appAuthToken}\n` : ''}`;
}

/** The v3 response's signed content. */
export function v3ResponseContent(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}
