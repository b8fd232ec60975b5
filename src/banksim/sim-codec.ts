/** A bank's wire format, as the bank sees it: requests in, answers and callbacks out. */
import type { IncomingHttpHeaders } from 'node:http';
import type { SimReply, SimRequest, Txn } from './sim-model.js';

export type Decoded = { readonly ok: true; readonly request: SimRequest } | { readonly ok: false; readonly status: number; readonly reason: 'BAD_SIGNATURE' | 'MALFORMED' };

export interface Encoded {
  readonly status: number;
  readonly contentType: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface SimCodec {
  /** True when this path is one of the bank's service endpoints. */
  matches(path: string): boolean;
  decode(path: string, headers: IncomingHttpHeaders, raw: string): Decoded;
  encodeReply(reply: Exclude<SimReply, { result: 'HANG' }>): Encoded;
  encodeRefusal(status: number, reason: string): Encoded;
  encodeCallback(txn: Txn): Encoded;
  /** Whether the merchant's answer to a callback acknowledges it. */
  acknowledged(status: number, body: string): boolean;
}
