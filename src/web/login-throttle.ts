/**
 * Guessing operator passwords: failed console logins are counted per operator name and per
 * client address over a sliding window; past the limit, that name (or address) is refused with
 * 429 until its oldest failure leaves the window — even with the right password, so a guesser
 * learns nothing from it. A successful login clears its name's count. In this process's memory:
 * each process counts on its own, like the per-second limits.
 */
export interface ThrottleLimit {
  readonly max: number;
  readonly windowMs: number;
}

/** Keys tracked at most; the ones with the oldest failures go first beyond it. */
const keysMax = 10_000;

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limits: { readonly name: ThrottleLimit; readonly address: ThrottleLimit },
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when a login for this name from this address may be tried now; else ms until it may. */
  waitMs(name: string, address: string): number {
    return Math.max(this.wait(`n:${name.toLowerCase()}`, this.limits.name), this.wait(`a:${address}`, this.limits.address));
  }

  failed(name: string, address: string): void {
    this.add(`n:${name.toLowerCase()}`);
    this.add(`a:${address}`);
  }

  succeeded(name: string): void {
    this.failures.delete(`n:${name.toLowerCase()}`);
  }

  private recent(key: string, windowMs: number): number[] {
    const since = this.now() - windowMs;
    const kept = (this.failures.get(key) ?? []).filter((at) => at > since);
    if (kept.length === 0) this.failures.delete(key);
    else this.failures.set(key, kept);
    return kept;
  }

  private wait(key: string, limit: ThrottleLimit): number {
    const recent = this.recent(key, limit.windowMs);
    if (recent.length < limit.max) return 0;
    return recent[recent.length - limit.max]! + limit.windowMs - this.now();
  }

  private add(key: string): void {
    const list = this.failures.get(key) ?? [];
    list.push(this.now());
    // Only the newest failures matter (the largest limit is enough to judge); re-inserting keeps the Map in recency order.
    this.failures.delete(key);
    this.failures.set(key, list.slice(-Math.max(this.limits.name.max, this.limits.address.max)));
    while (this.failures.size > keysMax) this.failures.delete(this.failures.keys().next().value!);
  }
}
