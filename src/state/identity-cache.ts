/**
 * The identity cache of the token actions: the last token issued to a user through a profile, so that the
 * next login of that user can delete it ("one token per user", docs/tib-behaviour.md §5.6-5.7). In memory by default; on Redis
 * with `BackEnd.Name: "redis"`, so that every replica sees every record.
 *
 * On Redis our record is `<keyPrefix>identity-cache:<profile>:<hmac>`, with the token's lifetime as TTL: the
 * user part (`<UserID>@<Provider>.com`) is an HMAC-SHA256 and the value `{"token":...,"api":...}` is sealed
 * with AES-256-GCM, both keyed from TYK_IB_SESSION_SECRET (HKDF), so Redis holds no user id and no live key in
 * clear. The previous version's record (the same JSON in clear under `<keyPrefix>identity-cache:<profile>:<UserID>@<Provider>.com`)
 * is still read during a rolling upgrade and removed once the sealed one is written. TIB's record is also
 * read: `identity-cache.<profile>-<UserID>@<Provider>.com` (no prefix, no TTL), a raw token string (or, from
 * some TIB versions, a JSON-quoted one). TIB itself could never read it back (docs/tib-behaviour.md §9.2 #1),
 * so after a migration from TIB on the same Redis the first login deletes TIB's last token.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { Logger } from '../log.js';
import type { RedisClient } from './redis-client.js';
import { seal, unseal } from './sealed.js';

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
  /**
   * Remove our record of the user at logout (docs/logout.md), only while it still holds `token`: a login of
   * the same user that recorded a newer token meanwhile keeps its record (its token is deleted at the next login).
   */
  forget(profileId: string, ssoKey: string, token: string): Promise<void>;
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

/** The keys of the Redis records, derived from the session secret: the same on every replica sharing it. */
export interface RecordKeys {
  /** HMAC-SHA256 key of the user part of the Redis key. */
  name: Buffer;
  /** AES-256-GCM key of the value. */
  seal: Buffer;
}

export function recordKeys(sessionSecret: string): RecordKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', sessionSecret, '', info, 32));
  return { name: derive('identity-broker identity-cache key name'), seal: derive('identity-broker identity-cache value') };
}

/** Our Redis key: the user part hashed, so the key names no user. */
export function sealedKey(keys: RecordKeys, keyPrefix: string, profileId: string, ssoKey: string): string {
  return ourKey(keyPrefix, profileId, createHmac('sha256', keys.name).update(ssoKey, 'utf8').digest('hex'));
}

const SEALED = 'v1.';

/** `v1.<base64url(iv | ciphertext | tag)>`, bound to its Redis key (additional data): a value moved under another user's key does not open. */
export function sealRecord(keys: RecordKeys, redisKey: string, r: TokenRecord): string {
  return SEALED + seal(keys.seal, redisKey, serialiseRecord(r));
}

/** The record, or `null` when the value does not open (another secret, or tampered); undefined when there is none. */
export function openRecord(keys: RecordKeys, redisKey: string, raw: string | null): TokenRecord | null | undefined {
  if (raw === null) return undefined;
  const plain = raw.startsWith(SEALED) ? unseal(keys.seal, redisKey, raw.slice(SEALED.length)) : undefined;
  return plain === undefined ? null : (parseRecord(plain) ?? null);
}

const ttl = (seconds: number) => Math.max(1, Math.ceil(seconds));

/**
 * GET the old value and SET the new one with a TTL, atomically (Redis 2.6+; `SET .. GET` needs 6.2). A key of
 * another type (GET fails with WRONGTYPE) had no token of ours: SET replaces it.
 */
const SWAP_SCRIPT = "local ok, old = pcall(redis.call, 'GET', KEYS[1]); if not ok then old = false end; redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]); return old";

export interface RedisIdentityCacheOptions {
  /** TYK_IB_SESSION_SECRET: the record keys are derived from it, so every replica must have the same ('' when unset: sealed, but under a key anyone can derive). */
  sessionSecret: string;
  log?: Logger;
}

// By name, not `instanceof` ioredis's ReplyError: importing ioredis here would load it without Redis (redis-client.ts loadIoredis).
const isReplyError = (err: unknown, code: string): boolean => err instanceof Error && err.name === 'ReplyError' && err.message.startsWith(code);

export class RedisIdentityCache implements IdentityCache {
  private readonly keys: RecordKeys;
  /** Each of these is logged once per process: the cause is a setting, the same at every login. */
  private warned = { unsealed: false, noSecret: false, noperm: false };

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly opts: RedisIdentityCacheOptions = { sessionSecret: '' },
  ) {
    this.keys = recordKeys(opts.sessionSecret);
  }

  async lookup(profileId: string, ssoKey: string): Promise<TokenRecord[]> {
    // Single-key GETs, not an MGET: the keys hash to different Cluster slots.
    // A key that is not a string (WRONGTYPE: TIB's foreign data, or something planted under ours) is not a
    // record, not an outage: the user's logins go on, and the next swap overwrites ours.
    const notARecord = (err: unknown): null => {
      if (isReplyError(err, 'WRONGTYPE')) return null;
      throw err;
    };
    // TIB's key has no prefix: a Redis user limited to the prefix (`~tib:*`) may not read it (NOPERM). Taken
    // as "no TIB record", so the login goes on; the operator is told once which ACL rule would let it read them.
    const notTibs = (err: unknown): null => {
      if (!isReplyError(err, 'NOPERM')) return notARecord(err);
      if (!this.warned.noperm) {
        this.warned.noperm = true;
        this.opts.log?.warn(
          "TIB's identity-cache records (keys identity-cache.<profile>-<user>, outside BackEnd.KeyPrefix) cannot be read by this Redis user (NOPERM): they are skipped. If TIB ran on this Redis, let the user read and delete them (ACL SETUSER <user> ~identity-cache.*) so that the last token TIB issued to each user is deleted at their next login; otherwise nothing is to be done",
        );
      }
      return null;
    };
    const key = sealedKey(this.keys, this.keyPrefix, profileId, ssoKey);
    const [sealed, plain, theirs] = await Promise.all([
      this.redis.get(key).catch(notARecord),
      // The previous version's record (clear, under the user id), read during a rolling upgrade.
      this.redis.get(ourKey(this.keyPrefix, profileId, ssoKey)).catch(notARecord),
      this.redis.get(tibKey(profileId, ssoKey)).catch(notTibs),
    ]);
    const out: TokenRecord[] = [];
    const add = (r: TokenRecord | undefined) => {
      if (r && !out.some((o) => o.token === r.token)) out.push(r);
    };
    add(this.open(key, sealed));
    add(parseRecord(plain));
    add(parseTibRecord(theirs));
    return out;
  }

  async swap(profileId: string, ssoKey: string, record: TokenRecord, ttlSeconds: number): Promise<TokenRecord | undefined> {
    if (this.opts.sessionSecret === '' && !this.warned.noSecret) {
      this.warned.noSecret = true;
      this.opts.log?.warn('TYK_IB_SESSION_SECRET is not set: the token actions\' records in Redis are sealed under a key anyone can derive; set it (the same on every replica) to keep the users\' tokens secret from readers of Redis');
    }
    const key = sealedKey(this.keys, this.keyPrefix, profileId, ssoKey);
    const old = await this.redis.eval(SWAP_SCRIPT, 1, key, sealRecord(this.keys, key, record), String(ttl(ttlSeconds)));
    // Only the sealed form is written; the previous version's clear record (its token just dealt with by
    // the login) goes. A failure leaves it to expire: at worst its token is deleted once more (404, gone).
    await this.redis.del(ourKey(this.keyPrefix, profileId, ssoKey)).catch(() => undefined);
    return this.open(key, typeof old === 'string' ? old : null);
  }

  async forgetLegacy(profileId: string, ssoKey: string): Promise<void> {
    await this.redis.del(tibKey(profileId, ssoKey));
  }

  async forget(profileId: string, ssoKey: string, token: string): Promise<void> {
    const key = sealedKey(this.keys, this.keyPrefix, profileId, ssoKey);
    // The previous version's clear record, if any, goes too (swap() drops it the same way).
    await this.redis.del(ourKey(this.keyPrefix, profileId, ssoKey)).catch(() => undefined);
    const raw = await this.redis.get(key);
    if (raw === null || openRecord(this.keys, key, raw)?.token !== token) return;
    // Deleted only if unchanged since the read: the sealed value (random IV) identifies the write.
    await this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, key, raw);
  }

  /** A value that does not open is no record: written under another TYK_IB_SESSION_SECRET (warned once), or not ours. */
  private open(key: string, raw: string | null): TokenRecord | undefined {
    const r = openRecord(this.keys, key, raw);
    if (r !== null) return r;
    if (!this.warned.unsealed) {
      this.warned.unsealed = true;
      this.opts.log?.warn(
        "an identity-cache record in Redis does not decrypt: written under another TYK_IB_SESSION_SECRET (set the same on every replica), or not by the broker; it is ignored, so that user's previous token is not deleted at this login",
      );
    }
    return undefined;
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

  async forget(profileId: string, ssoKey: string, token: string): Promise<void> {
    const key = ourKey('', profileId, ssoKey);
    if (this.entries.get(key)?.record.token === token) this.entries.delete(key);
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
