/**
 * Short-lived, single-use state of a login in flight (OIDC state/nonce/PKCE verifier, SAML request ids),
 * kept server-side. In memory by default; on Redis when BackEnd.Name is "redis" so replicas share it.
 */
export interface FlowStateStore {
  /** Store `value` under `key` for `ttlSeconds`. */
  put(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  /** Read and delete in one step: a second take of the same key returns undefined (single use). */
  take(key: string): Promise<unknown>;
  close(): Promise<void>;
}

/** In-process store; expired entries are dropped on access and swept periodically. */
export class MemoryFlowStateStore implements FlowStateStore {
  private readonly entries = new Map<string, { value: unknown; expires: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async put(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    this.entries.set(key, { value: structuredClone(value), expires: this.now() + ttlSeconds * 1000 });
  }

  async take(key: string): Promise<unknown> {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    return e.expires > this.now() ? e.value : undefined;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.entries) if (e.expires <= t) this.entries.delete(k);
  }
}
