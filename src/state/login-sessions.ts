/**
 * The logins the broker keeps for logout (issue 21, docs/logout.md): for a profile with logout on, what the IdP's
 * logout needs of each login (the OIDC id token, sub and sid; the SAML NameID and SessionIndex), found again from
 * the broker's own cookie (a random id) or, for a back-channel or IdP-initiated logout, by the subject or session.
 *
 * In memory (bounded, oldest out) by default; on Redis with `BackEnd.Name: "redis"`, so every replica finds every
 * login: `<keyPrefix>login-session:<hmac of profile and id>` sealed with AES-256-GCM (the key name as additional
 * data), index sets `<keyPrefix>login-session-sub:<hmac>` and `...-sid:<hmac>` holding record keys, every key with
 * the login's lifetime as TTL. Keys and HMACs come from TYK_IB_SESSION_SECRET (HKDF), so Redis holds neither a
 * subject, nor an id token, nor a cookie's id in clear (as src/state/identity-cache.ts does for tokens).
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { IdpSession } from '../identity/identity.js';
import type { RedisClient } from './redis-client.js';
import { seal, unseal } from './sealed.js';

/**
 * A kept login: the IdP's session, for which profile and user, since when; `ssoKey` (src/actions/key-session.ts)
 * finds the Tyk key a token action gave the user (Action.endSession).
 */
export type LoginSession = IdpSession & { profile: string; userId: string; ssoKey?: string; createdAt: number };

/**
 * Which logins an IdP's logout names: OIDC `sub` and/or `sid`; SAML the NameID's value as `sub` and the
 * SessionIndex as `sid`. With `sid`, only that session (of that `sub` when both are given); with only `sub`,
 * every session of that subject; with neither, none.
 */
export interface SessionMatch {
  sub?: string;
  sid?: string;
}

export interface LoginSessions {
  /** Keep `s` for `ttlMs`; resolves with its new random id (32 bytes, base64url: the cookie's value). */
  put(s: LoginSession, ttlMs: number): Promise<string>;
  get(profile: string, id: string): Promise<LoginSession | undefined>;
  /** Remove and return it (once: a second drop of the same id finds nothing). */
  drop(profile: string, id: string): Promise<LoginSession | undefined>;
  dropMatching(profile: string, match: SessionMatch): Promise<LoginSession[]>;
}

/** The subject and session keys of a login, whatever its protocol. */
const subjectOf = (s: IdpSession): string | undefined => s.sub ?? s.nameId?.value;
const sessionOf = (s: IdpSession): string | undefined => s.sid ?? s.sessionIndex;

/** Does `s` answer `match` (SessionMatch's rule)? */
export function matches(s: LoginSession, match: SessionMatch): boolean {
  if (match.sub === undefined && match.sid === undefined) return false;
  if (match.sub !== undefined && subjectOf(s) !== match.sub) return false;
  if (match.sid !== undefined && sessionOf(s) !== match.sid) return false;
  return true;
}

/** A cookie's id as put() makes them; anything else is never looked up. */
const ID_RULE = /^[\w-]{43}$/;
const newId = () => randomBytes(32).toString('base64url');

/** Bound of the in-memory store: beyond it the oldest logins go (their logout then goes straight to the Tyk step). */
export const MAX_MEMORY_SESSIONS = 100_000;

export class MemoryLoginSessions implements LoginSessions {
  private readonly items = new Map<string, { s: LoginSession; until: number }>();

  constructor(private readonly max = MAX_MEMORY_SESSIONS) {}

  private live(key: string, now = Date.now()): LoginSession | undefined {
    const it = this.items.get(key);
    if (it && it.until > now) return it.s;
    if (it) this.items.delete(key);
    return undefined;
  }

  put(s: LoginSession, ttlMs: number): Promise<string> {
    const id = newId();
    this.items.set(`${s.profile}\n${id}`, { s: structuredClone(s), until: Date.now() + ttlMs });
    // The Map's order is insertion order: the first key is the oldest.
    while (this.items.size > this.max) this.items.delete(this.items.keys().next().value as string);
    return Promise.resolve(id);
  }

  get(profile: string, id: string): Promise<LoginSession | undefined> {
    return Promise.resolve(ID_RULE.test(id) ? this.live(`${profile}\n${id}`) : undefined);
  }

  drop(profile: string, id: string): Promise<LoginSession | undefined> {
    if (!ID_RULE.test(id)) return Promise.resolve(undefined);
    const s = this.live(`${profile}\n${id}`);
    this.items.delete(`${profile}\n${id}`);
    return Promise.resolve(s);
  }

  dropMatching(profile: string, match: SessionMatch): Promise<LoginSession[]> {
    const out: LoginSession[] = [];
    // A scan: back-channel and IdP-initiated logouts are rare next to logins, and the store is bounded.
    for (const key of [...this.items.keys()]) {
      const s = this.live(key);
      if (s && s.profile === profile && matches(s, match)) {
        this.items.delete(key);
        out.push(s);
      }
    }
    return Promise.resolve(out);
  }
}

interface Keys {
  seal: Buffer;
  index: Buffer;
}

export class RedisLoginSessions implements LoginSessions {
  private readonly keys: Keys;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    sessionSecret: string,
  ) {
    const derive = (info: string) => Buffer.from(hkdfSync('sha256', sessionSecret, '', info, 32));
    this.keys = { seal: derive('tib login session v1'), index: derive('tib login session index v1') };
  }

  private hmac(...parts: string[]): string {
    return createHmac('sha256', this.keys.index).update(parts.join('\n'), 'utf8').digest('base64url');
  }

  private recordKey(profile: string, id: string): string {
    return `${this.keyPrefix}login-session:${this.hmac('id', profile, id)}`;
  }

  private indexKeys(s: LoginSession): string[] {
    const sub = subjectOf(s);
    const sid = sessionOf(s);
    return [
      ...(sub !== undefined ? [`${this.keyPrefix}login-session-sub:${this.hmac('sub', s.profile, sub)}`] : []),
      ...(sid !== undefined ? [`${this.keyPrefix}login-session-sid:${this.hmac('sid', s.profile, sid)}`] : []),
    ];
  }

  /** The login sealed under `key`, or undefined (absent, another secret, another key's value, tampered). */
  private open(key: string, raw: string | null, profile: string): LoginSession | undefined {
    const plain = raw === null ? undefined : unseal(this.keys.seal, key, raw);
    if (plain === undefined) return undefined;
    try {
      const s = JSON.parse(plain) as LoginSession;
      return typeof s === 'object' && s !== null && s.profile === profile ? s : undefined;
    } catch {
      return undefined;
    }
  }

  async put(s: LoginSession, ttlMs: number): Promise<string> {
    const id = newId();
    const key = this.recordKey(s.profile, id);
    const ttl = Math.max(1000, Math.ceil(ttlMs));
    await this.redis.set(key, seal(this.keys.seal, key, JSON.stringify(s)), 'PX', ttl);
    // One command per key (no MULTI): with Redis Cluster the keys live in different slots.
    for (const index of this.indexKeys(s)) {
      await this.redis.sadd(index, key);
      // An index set lives as long as its longest login: never shortened (no PEXPIRE GT: Redis before 7 has none).
      if ((await this.redis.pttl(index)) < ttl) await this.redis.pexpire(index, ttl);
    }
    return id;
  }

  async get(profile: string, id: string): Promise<LoginSession | undefined> {
    if (!ID_RULE.test(id)) return undefined;
    const key = this.recordKey(profile, id);
    return this.open(key, await this.redis.get(key), profile);
  }

  async drop(profile: string, id: string): Promise<LoginSession | undefined> {
    if (!ID_RULE.test(id)) return undefined;
    const key = this.recordKey(profile, id);
    const s = this.open(key, await this.redis.get(key), profile);
    // Of two replicas dropping the same login, the one whose DEL removed it has it (GETDEL needs Redis 6.2).
    if (!s || (await this.redis.del(key)) === 0) return undefined;
    for (const index of this.indexKeys(s)) await this.redis.srem(index, key);
    return s;
  }

  async dropMatching(profile: string, match: SessionMatch): Promise<LoginSession[]> {
    if (match.sub === undefined && match.sid === undefined) return [];
    const index =
      match.sid !== undefined ? `${this.keyPrefix}login-session-sid:${this.hmac('sid', profile, match.sid)}` : `${this.keyPrefix}login-session-sub:${this.hmac('sub', profile, match.sub as string)}`;
    const out: LoginSession[] = [];
    for (const key of await this.redis.smembers(index)) {
      const raw = await this.redis.get(key);
      const s = this.open(key, raw, profile);
      if (!s) {
        await this.redis.srem(index, key); // expired: its index entry goes too
        continue;
      }
      if (!matches(s, match)) continue;
      if ((await this.redis.del(key)) === 0) continue; // another replica dropped it meanwhile
      for (const other of this.indexKeys(s)) await this.redis.srem(other, key);
      out.push(s);
    }
    return out;
  }
}
