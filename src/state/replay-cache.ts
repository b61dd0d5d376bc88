/**
 * Assertion IDs already used, remembered until the assertion can no longer be accepted (its bearer
 * NotOnOrAfter plus the clock skew), so a replayed response is refused. On Redis (one `SET NX PX` per ID,
 * key `<prefix>saml:assertion:<profileId>:<id>`) every replica sees every use; in memory it is bounded, and
 * when full it refuses new logins rather than forget an ID that could then be replayed.
 */
import type { RedisClient } from './redis-client.js';

export interface ReplayCache {
  /** True when `id` was not seen before (and is now remembered for `ttlMs`); false for a replay. */
  firstUse(profileId: string, id: string, ttlMs: number): Promise<boolean>;
  close(): void;
}

export class ReplayCacheFull extends Error {}

/** Each entry is ~150 bytes: 100 000 is ~15 MB, and 300 logins a second for 5-minute assertions. */
export const DEFAULT_MAX_IDS = 100_000;
/** No assertion is remembered longer than this (an IdP that says "valid for a year" is still bounded). */
export const MAX_TTL_MS = 24 * 3600 * 1000;

export class MemoryReplayCache implements ReplayCache {
  private readonly seen = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly maxIds = DEFAULT_MAX_IDS,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async firstUse(profileId: string, id: string, ttlMs: number): Promise<boolean> {
    const key = `${profileId}\n${id}`;
    const until = this.seen.get(key);
    if (until !== undefined && until > this.now()) return false;
    if (this.seen.size >= this.maxIds) this.sweep();
    if (this.seen.size >= this.maxIds) throw new ReplayCacheFull(`the assertion replay cache holds ${this.maxIds} unexpired IDs`);
    this.seen.set(key, this.now() + Math.min(ttlMs, MAX_TTL_MS));
    return true;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.seen.clear();
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, until] of this.seen) if (until <= t) this.seen.delete(k);
  }
}

export class RedisReplayCache implements ReplayCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async firstUse(profileId: string, id: string, ttlMs: number): Promise<boolean> {
    const key = `${this.keyPrefix}saml:assertion:${profileId}:${id}`;
    const ok = await this.redis.set(key, '1', 'PX', Math.max(1, Math.ceil(Math.min(ttlMs, MAX_TTL_MS))), 'NX');
    return ok === 'OK';
  }

  /** The client belongs to the broker. */
  close(): void {}
}
