/**
 * The SCIM Users and Groups an IdP pushed to `/scim/v2/{profile}` (issue 20, item 5; src/http/scim.ts), per
 * profile: the resources as the broker answers them (ids it assigned, meta), so a scheduled run with
 * `Sync.Source: "scim"` lists the same people the pushes described (src/sync/scim/source.ts). With
 * `BackEnd.Name: "redis"` the replicas share them (a hash per profile and kind under the key prefix, plus one
 * of lower-cased userNames, as RFC 7643 §4.1.1 makes userName unique and case-insensitive); else this process.
 * Bounded: past the limits a write is refused, and the API answers a SCIM error.
 */
import type { RedisClient } from './redis-client.js';

export type ScimKind = 'User' | 'Group';

/** One stored resource: its JSON as the broker serves it; `id` and, for a User, `userName` are required. */
export interface ScimResource {
  id: string;
  [key: string]: unknown;
}

export interface ScimLimits {
  users: number;
  groups: number;
  membersPerGroup: number;
}

export const DEFAULT_SCIM_LIMITS: ScimLimits = { users: 100_000, groups: 10_000, membersPerGroup: 100_000 };

/** Why a write was refused: another user has the userName (409 uniqueness), or a bound was reached. */
export type ScimWriteResult = { ok: true } | { ok: false; reason: 'uniqueness' | 'full' };

export interface ScimStore {
  readonly limits: ScimLimits;
  get(profile: string, kind: ScimKind, id: string): Promise<ScimResource | undefined>;
  list(profile: string, kind: ScimKind): Promise<ScimResource[]>;
  /** Creates or replaces; `previous` is the stored version being replaced (its userName is released). */
  put(profile: string, kind: ScimKind, r: ScimResource, previous?: ScimResource): Promise<ScimWriteResult>;
  delete(profile: string, kind: ScimKind, id: string): Promise<ScimResource | undefined>;
}

/** The userName index key (RFC 7643 §2.1: userName's caseExact is false). */
const nameOf = (r: ScimResource | undefined): string | undefined => (typeof r?.userName === 'string' ? r.userName.toLowerCase() : undefined);

export class MemoryScimStore implements ScimStore {
  private readonly data = new Map<string, Map<string, ScimResource>>();
  private readonly names = new Map<string, Map<string, string>>();

  constructor(readonly limits: ScimLimits = DEFAULT_SCIM_LIMITS) {}

  private table(profile: string, kind: ScimKind): Map<string, ScimResource> {
    const k = `${kind}:${profile}`;
    let t = this.data.get(k);
    if (!t) this.data.set(k, (t = new Map()));
    return t;
  }

  private index(profile: string): Map<string, string> {
    let t = this.names.get(profile);
    if (!t) this.names.set(profile, (t = new Map()));
    return t;
  }

  get(profile: string, kind: ScimKind, id: string): Promise<ScimResource | undefined> {
    const r = this.table(profile, kind).get(id);
    return Promise.resolve(r && structuredClone(r));
  }

  list(profile: string, kind: ScimKind): Promise<ScimResource[]> {
    return Promise.resolve([...this.table(profile, kind).values()].map((r) => structuredClone(r)));
  }

  put(profile: string, kind: ScimKind, r: ScimResource, previous?: ScimResource): Promise<ScimWriteResult> {
    const t = this.table(profile, kind);
    if (!t.has(r.id) && t.size >= (kind === 'User' ? this.limits.users : this.limits.groups)) return Promise.resolve({ ok: false, reason: 'full' });
    if (kind === 'User') {
      const idx = this.index(profile);
      const name = nameOf(r) ?? '';
      const owner = idx.get(name);
      if (owner !== undefined && owner !== r.id) return Promise.resolve({ ok: false, reason: 'uniqueness' });
      const old = nameOf(previous);
      if (old !== undefined && old !== name && idx.get(old) === r.id) idx.delete(old);
      idx.set(name, r.id);
    }
    t.set(r.id, structuredClone(r));
    return Promise.resolve({ ok: true });
  }

  delete(profile: string, kind: ScimKind, id: string): Promise<ScimResource | undefined> {
    const t = this.table(profile, kind);
    const r = t.get(id);
    if (!r) return Promise.resolve(undefined);
    t.delete(id);
    const name = nameOf(r);
    if (kind === 'User' && name !== undefined && this.index(profile).get(name) === id) this.index(profile).delete(name);
    return Promise.resolve(r);
  }
}

export class RedisScimStore implements ScimStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    readonly limits: ScimLimits = DEFAULT_SCIM_LIMITS,
  ) {}

  private key(profile: string, kind: ScimKind): string {
    return `${this.keyPrefix}scim-${kind === 'User' ? 'users' : 'groups'}:${profile}`;
  }

  private names(profile: string): string {
    return `${this.keyPrefix}scim-usernames:${profile}`;
  }

  private parse(raw: string | null): ScimResource | undefined {
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as ScimResource;
    } catch {
      return undefined; // not ours (written by hand?): as if absent
    }
  }

  async get(profile: string, kind: ScimKind, id: string): Promise<ScimResource | undefined> {
    return this.parse(await this.redis.hget(this.key(profile, kind), id));
  }

  async list(profile: string, kind: ScimKind): Promise<ScimResource[]> {
    const all = await this.redis.hvals(this.key(profile, kind));
    return all.map((v) => this.parse(v)).filter((r): r is ScimResource => r !== undefined);
  }

  async put(profile: string, kind: ScimKind, r: ScimResource, previous?: ScimResource): Promise<ScimWriteResult> {
    const key = this.key(profile, kind);
    if (!previous && (await this.redis.hlen(key)) >= (kind === 'User' ? this.limits.users : this.limits.groups)) return { ok: false, reason: 'full' };
    if (kind === 'User') {
      const name = nameOf(r) ?? '';
      // HSETNX: two replicas creating the same userName at once, only one wins.
      if (!(await this.redis.hsetnx(this.names(profile), name, r.id))) {
        if ((await this.redis.hget(this.names(profile), name)) !== r.id) return { ok: false, reason: 'uniqueness' };
      }
      const old = nameOf(previous);
      if (old !== undefined && old !== name) await this.redis.hdel(this.names(profile), old);
    }
    await this.redis.hset(key, r.id, JSON.stringify(r));
    return { ok: true };
  }

  async delete(profile: string, kind: ScimKind, id: string): Promise<ScimResource | undefined> {
    const key = this.key(profile, kind);
    const r = await this.get(profile, kind, id);
    if (!r) return undefined;
    await this.redis.hdel(key, id);
    const name = nameOf(r);
    if (kind === 'User' && name !== undefined && (await this.redis.hget(this.names(profile), name)) === id) await this.redis.hdel(this.names(profile), name);
    return r;
  }
}
