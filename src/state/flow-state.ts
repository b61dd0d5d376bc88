/**
 * Short-lived, single-use state of a login in flight (OIDC state/nonce/PKCE verifier, SAML request ids),
 * kept server-side. In memory by default; on Redis when BackEnd.Name is "redis" so replicas share it.
 */
import { getLogger, type Logger } from '../log.js';

export interface FlowStateStore {
  /**
   * Store `value` under `key` for `ttlSeconds`. `group` (the profile id) lets a store bound each profile's
   * share, so a flood of login starts at one profile cannot push out every other profile's logins.
   */
  put(key: string, value: unknown, ttlSeconds: number, group?: string): Promise<void>;
  /** Read and delete in one step: a second take of the same key returns undefined (single use). */
  take(key: string): Promise<unknown>;
  close(): Promise<void>;
}

export interface MemoryFlowStateOptions {
  /**
   * Most flows kept in all (default 20 000). A flow takes under 1 KB of heap (~0.7 KB measured), so ~15 MB at
   * most, and 20 000 logins started within one LoginTimeout (5 min) is far above a legitimate morning rush.
   */
  maxEntries?: number;
  /** Most flows kept per group, i.e. per profile (default 10 000: a flood at one profile leaves room for the others). */
  maxPerGroup?: number;
  now?: () => number;
  log?: Logger;
}

const DEFAULT_MAX_ENTRIES = 20_000;
const DEFAULT_MAX_PER_GROUP = 10_000;
const SWEEP_MS = 60_000;
/** Evictions are reported at most once a minute: a flood must not flood the log too. */
const REPORT_MS = 60_000;
const NO_GROUP = '';

interface Entry {
  value: unknown;
  expires: number;
  group: string;
}

/**
 * In-process store; expired entries are dropped on access and swept periodically. When full, the oldest
 * flow is evicted (of the same profile first, then of all): Map and Set keep insertion order, so finding
 * the oldest is O(1). An evicted login ends like an expired one ("unknown, expired or already used state").
 */
export class MemoryFlowStateStore implements FlowStateStore {
  private readonly entries = new Map<string, Entry>();
  /** Keys per group, oldest first. */
  private readonly groups = new Map<string, Set<string>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly maxEntries: number;
  private readonly maxPerGroup: number;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Evictions not yet reported, per group. */
  private evicted = new Map<string, number>();
  private lastReport = -Infinity;

  constructor(opts: MemoryFlowStateOptions = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.maxPerGroup = Math.max(1, opts.maxPerGroup ?? DEFAULT_MAX_PER_GROUP);
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? getLogger('FLOW STATE');
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** How many flows are stored (expired ones not yet swept included). */
  get size(): number {
    return this.entries.size;
  }

  async put(key: string, value: unknown, ttlSeconds: number, group = NO_GROUP): Promise<void> {
    this.remove(key);
    const own = this.groups.get(group);
    if (own && own.size >= this.maxPerGroup) this.evict(own.values().next().value as string);
    if (this.entries.size >= this.maxEntries) this.evict(this.entries.keys().next().value as string);
    this.entries.set(key, { value: structuredClone(value), expires: this.now() + ttlSeconds * 1000, group });
    const keys = this.groups.get(group) ?? new Set<string>();
    this.groups.set(group, keys);
    keys.add(key);
  }

  async take(key: string): Promise<unknown> {
    const e = this.remove(key);
    return e && e.expires > this.now() ? e.value : undefined;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.report();
    this.entries.clear();
    this.groups.clear();
  }

  private remove(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    const keys = this.groups.get(e.group);
    keys?.delete(key);
    if (keys?.size === 0) this.groups.delete(e.group);
    return e;
  }

  private evict(key: string): void {
    const e = this.remove(key);
    if (!e) return;
    if (e.expires > this.now()) this.evicted.set(e.group, (this.evicted.get(e.group) ?? 0) + 1);
    if (this.now() - this.lastReport >= REPORT_MS) this.report();
  }

  /** One WARN line with the evictions since the last one: counts and profile ids, never a key or a value. */
  private report(): void {
    if (this.evicted.size === 0) return;
    const byProfile = Object.fromEntries([...this.evicted].map(([g, n]) => [g || '(none)', n]));
    const total = [...this.evicted.values()].reduce((a, b) => a + b, 0);
    this.log.warn(
      `login flow store full: ${total} unfinished login(s) evicted, oldest first (at most ${this.maxEntries} in all, ${this.maxPerGroup} per profile); a flood of login starts? Those users must start again`,
      { evicted: byProfile },
    );
    this.evicted = new Map();
    this.lastReport = this.now();
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.entries) if (e.expires <= t) this.remove(k);
    this.report();
  }
}
