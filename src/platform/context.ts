/**
 * The unified platform context (SYSTEM.md §2): carried unchanged by every request, record and
 * event, so any record tells which business, in which scene, through which channel, did what.
 */
export interface PlatformContext {
  /** The API client (business system) that started the work. */
  readonly client: string;
  readonly merchant?: string;
  readonly tradeType?: string;
  readonly scene?: string;
  /** The channel (bank or institution) money moved through, once known. */
  readonly institution?: string;
  readonly traceId: string;
}

/** The context of work the platform starts itself (jobs, recovery). */
export function systemContext(traceId: string): PlatformContext {
  return { client: 'system', traceId };
}

/** A copy with more facts filled in; the trace id and client never change. */
export function withContext(ctx: PlatformContext, more: Omit<Partial<PlatformContext>, 'client' | 'traceId'>): PlatformContext {
  return { ...ctx, ...more };
}
