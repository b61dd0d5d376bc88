/**
 * The identity cache of the token actions: the last token issued to a user through a profile, so that the
 * next login of that user can delete it ("one token per user", docs/tib-behaviour.md §5.6-5.7). In memory by default; on Redis
 * with `BackEnd.Name: "redis"`, so that every replica sees every record.
 *
 * On Redis our record is `<keyPrefix>identity-cache:<profile>:<UserID>@<Provider>.com`, JSON, with the token's
 * lifetime as TTL. TIB's record is also read: `identity-cache.<profile>-<UserID>@<Provider>.com` (no prefix,
 * no TTL), a raw token string (or, from some TIB versions, a JSON-quoted one). TIB itself could never read it
 * back (docs/tib-behaviour.md §9.2 #1), so after a migration from TIB on the same Redis the first login deletes TIB's last token.
 */
import { ReplyError } from 'ioredis';
import type { Logger } from '../log.js';
import type { RedisClient } from './redis-client.js';

export interface TokenRecord {
  /** The key id or access token. */
  token: string;
  /** The API id the token was issued for: its `DELETE /api/apis/<api>/keys/<token>` path. "" when unknown (TIB's records). */
  apiId: string;
  /** Read from TIB's own key: forget it once the token is deleted. */
  legacy?: boolean;
}

export interface IdentityCache {
  /** Every token recorded for this user of this profile (ours first, then TIB's), without duplicates. */
  lookup(profileId: string, ssoKey: string): Promise<TokenRecord[]>;
  /** Record `record` as the user's current token for `ttlSeconds`; resolves with the record it replaced. */
  swap(profileId: string, ssoKey: string, record: TokenRecord, ttlSeconds: number): Promise<TokenRecord | undefined>;
  /** Remove TIB's record (its token has been deleted). */
  forgetLegacy(profileId: string, ssoKey: string): Promise<void>;
}

/** Far beyond any Tyk key id or OAuth access token; anything longer is not a token we issued. */
const MAX_TOKEN_LENGTH = 2048;
const TOKEN_RULE = /^[\x21-\x7e]+$/;

function validToken(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_TOKEN_LENGTH && TOKEN_RULE.test(v);
}

/** Our stored form, `{"token":...,"api":...}`; undefined for anything else. */
export function parseRecord(raw: string | null): TokenRecord | undefined {
  if (raw === null) return undefined;
  try {
    const v = JSON.parse(raw) as { token?: unknown; api?: unknown };
    if (typeof v !== 'object' || v === null || !validToken(v.token)) return undefined;
    return { token: v.token, apiId: typeof v.api === 'string' ? v.api : '' };
  } catch {
    return undefined;
  }
}

export function serialiseRecord(r: TokenRecord): string {
  return JSON.stringify({ token: r.token, api: r.apiId });
}

/** TIB's stored form: the raw token, or a JSON string of it. */
export function parseTibRecord(raw: string | null): TokenRecord | undefined {
  if (raw === null) return undefined;
  let token: unknown = raw;
  if (raw.startsWith('"')) {
    try {
      token = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  return validToken(token) ? { token, apiId: '', legacy: true } : undefined;
}

/** TIB's key, unprefixed (TIB's Redis store adds only `identity-cache.`). */
export function tibKey(profileId: string, ssoKey: string): string {
  return `identity-cache.${profileId}-${ssoKey}`;
}

export function ourKey(keyPrefix: string, profileId: string, ssoKey: string): string {
  return `${keyPrefix}identity-cache:${profileId}:${ssoKey}`;
}

const ttl = (seconds: number) => Math.max(1, Math.ceil(seconds));

/**
 * GET the old value and SET the new one with a TTL, atomically (Redis 2.6+; `SET .. GET` needs 6.2). A key of
 * another type (GET fails with WRONGTYPE) had no token of ours: SET replaces it.
 */
const SWAP_SCRIPT = "local ok, old = pcall(redis.call, 'GET', KEYS[1]); if not ok then old = false end; redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]); return old";

export class RedisIdentityCache implements IdentityCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async lookup(profileId: string, ssoKey: string): Promise<TokenRecord[]> {
    // Two single-key GETs, not an MGET: the keys hash to different Cluster slots.
    // A key that is not a string (WRONGTYPE: TIB's foreign data, or something planted under ours) is not a
    // record, not an outage: the user's logins go on, and the next swap overwrites ours.
    const notARecord = (err: unknown): null => {
      if (err instanceof ReplyError && /^WRONGTYPE/.test((err as Error).message)) return null;
      throw err;
    };
    const [ours, theirs] = await Promise.all([
      this.redis.get(ourKey(this.keyPrefix, profileId, ssoKey)).catch(notARecord),
      this.redis.get(tibKey(profileId, ssoKey)).catch(notARecord),
    ]);
    const out: TokenRecord[] = [];
    const mine = parseRecord(ours);
    const tib = parseTibRecord(theirs);
    if (mine) out.push(mine);
    if (tib && tib.token !== mine?.token) out.push(tib);
    return out;
  }

  async swap(profileId: string, ssoKey: string, record: TokenRecord, ttlSeconds: number): Promise<TokenRecord | undefined> {
    const old = await this.redis.eval(SWAP_SCRIPT, 1, ourKey(this.keyPrefix, profileId, ssoKey), serialiseRecord(record), String(ttl(ttlSeconds)));
    return parseRecord(typeof old === 'string' ? old : null);
  }

  async forgetLegacy(profileId: string, ssoKey: string): Promise<void> {
    await this.redis.del(tibKey(profileId, ssoKey));
  }
}

export interface MemoryIdentityCacheOptions {
  /**
   * Most records kept (default 100 000, a few tens of MB at most). When full, the oldest record is dropped:
   * that user's token is then not deleted at their next login, as with TIB.
   */
  maxEntries?: number;
  now?: () => number;
  log?: Logger;
}

const DEFAULT_MAX_ENTRIES = 100_000;
/** Expired records are swept at most this often (a full O(n) pass), and evictions reported as often. */
const SWEEP_MS = 60_000;

/** In-process records with their expiry; no timers, so there is nothing to close. */
export class MemoryIdentityCache implements IdentityCache {
  private readonly entries = new Map<string, { record: TokenRecord; expires: number }>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private lastSweep: number;
  private evicted = 0;
  private lastReport = -Infinity;

  constructor(private readonly opts: MemoryIdentityCacheOptions = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.now = opts.now ?? Date.now;
    this.lastSweep = this.now();
  }

  get size(): number {
    return this.entries.size;
  }

  async lookup(profileId: string, ssoKey: string): Promise<TokenRecord[]> {
    const live = this.live(ourKey('', profileId, ssoKey));
    return live ? [live] : [];
  }

  async swap(profileId: string, ssoKey: string, record: TokenRecord, ttlSeconds: number): Promise<TokenRecord | undefined> {
    const key = ourKey('', profileId, ssoKey);
    const old = this.live(key);
    this.entries.delete(key);
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_MS) this.sweep(now);
    if (this.entries.size >= this.maxEntries) this.evictOldest(now);
    this.entries.set(key, { record: { token: record.token, apiId: record.apiId }, expires: now + ttl(ttlSeconds) * 1000 });
    return old;
  }

  async forgetLegacy(): Promise<void> {
    // TIB never kept its records in memory: there is nothing of TIB's here.
  }

  private live(key: string): TokenRecord | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires > this.now()) return e.record;
    this.entries.delete(key);
    return undefined;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }

  private evictOldest(now: number): void {
    const oldest = this.entries.keys().next().value;
    if (oldest !== undefined) this.entries.delete(oldest);
    this.evicted++;
    if (now - this.lastReport >= SWEEP_MS) {
      this.lastReport = now;
      this.opts.log?.warn(`identity cache full (${this.maxEntries} records): ${this.evicted} oldest dropped; those users' previous tokens will not be deleted at their next login`);
      this.evicted = 0;
    }
  }
}
