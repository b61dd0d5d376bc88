/**
 * The portal accounts the broker manages for a profile (issue 20): those a login reconciled or a sync created or
 * reconciled, each with how many consecutive sync runs it has been missing from the directory. Directory sync
 * deactivates or deletes only these, never an account it did not make its own. Redis (shared by the replicas)
 * with `BackEnd.Name: "redis"`, else this process; keyed by a hash of the portal, so a key names no URL.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-client.js';

export interface ManagedAccounts {
  /** Account ID -> consecutive runs missing (0: present at the last run or reconciled at a login). */
  load(portal: string, profile: string): Promise<Map<number, number>>;
  /** Replace the whole set (the end of a sync run). */
  save(portal: string, profile: string, accounts: ReadonlyMap<number, number>): Promise<void>;
  /** One account reconciled at a login: managed, present. */
  add(portal: string, profile: string, accountId: number): Promise<void>;
}

const keyOf = (portal: string, profile: string) => `${createHash('sha256').update(portal).digest('hex').slice(0, 16)}:${profile}`;

export class MemoryManagedAccounts implements ManagedAccounts {
  private readonly sets = new Map<string, Map<number, number>>();

  load(portal: string, profile: string): Promise<Map<number, number>> {
    return Promise.resolve(new Map(this.sets.get(keyOf(portal, profile))));
  }

  save(portal: string, profile: string, accounts: ReadonlyMap<number, number>): Promise<void> {
    this.sets.set(keyOf(portal, profile), new Map(accounts));
    return Promise.resolve();
  }

  add(portal: string, profile: string, accountId: number): Promise<void> {
    const k = keyOf(portal, profile);
    const set = this.sets.get(k) ?? new Map<number, number>();
    set.set(accountId, 0);
    this.sets.set(k, set);
    return Promise.resolve();
  }
}

export class RedisManagedAccounts implements ManagedAccounts {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  private key(portal: string, profile: string): string {
    return `${this.keyPrefix}portal-managed:${keyOf(portal, profile)}`;
  }

  async load(portal: string, profile: string): Promise<Map<number, number>> {
    const all = await this.redis.hgetall(this.key(portal, profile));
    const out = new Map<number, number>();
    for (const [id, missing] of Object.entries(all)) {
      const n = Number(id);
      if (Number.isSafeInteger(n) && n > 0) out.set(n, Math.max(0, Number(missing) || 0));
    }
    return out;
  }

  async save(portal: string, profile: string, accounts: ReadonlyMap<number, number>): Promise<void> {
    const key = this.key(portal, profile);
    const tx = this.redis.multi().del(key);
    if (accounts.size > 0) tx.hset(key, Object.fromEntries([...accounts].map(([id, m]) => [String(id), String(m)])));
    await tx.exec();
  }

  async add(portal: string, profile: string, accountId: number): Promise<void> {
    await this.redis.hset(this.key(portal, profile), String(accountId), '0');
  }
}
