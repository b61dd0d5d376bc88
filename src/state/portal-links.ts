/**
 * Which portal account a person's SSO key was reconciled into (src/portal/reconcile.ts): the next login reads that
 * account directly instead of scanning the portal's users for the email (the admin API has no email filter).
 * Only a shortcut: a lost or stale link (the account deleted, the memory store restarted) falls back to the scan.
 * Keys are a keyed hash of the portal and the SSO key, so Redis never holds a user ID in clear.
 * With `BackEnd.Name: "redis"` the replicas share the links; otherwise they live in this process, bounded.
 */
import { createHmac } from 'node:crypto';
import type { RedisClient } from './redis-client.js';

export interface PortalLinks {
  get(portal: string, ssoKey: string): Promise<number | undefined>;
  set(portal: string, ssoKey: string, accountId: number): Promise<void>;
  forget(portal: string, ssoKey: string): Promise<void>;
}

/** A link not used for this long is dropped (the scan finds the account again). */
const TTL_SECONDS = 90 * 24 * 3600;
/** Bound of the in-memory links: beyond it the oldest go. */
const MAX_MEMORY_LINKS = 100_000;

function linkKey(secret: string, portal: string, ssoKey: string): string {
  return createHmac('sha256', `portal-link:${secret}`).update(`${portal}\n${ssoKey}`, 'utf8').digest('base64url');
}

export class MemoryPortalLinks implements PortalLinks {
  private readonly links = new Map<string, number>();
  constructor(private readonly secret = '') {}

  get(portal: string, ssoKey: string): Promise<number | undefined> {
    return Promise.resolve(this.links.get(linkKey(this.secret, portal, ssoKey)));
  }

  set(portal: string, ssoKey: string, accountId: number): Promise<void> {
    const k = linkKey(this.secret, portal, ssoKey);
    this.links.delete(k); // re-inserted last: the Map's order is the eviction order
    this.links.set(k, accountId);
    if (this.links.size > MAX_MEMORY_LINKS) this.links.delete(this.links.keys().next().value as string);
    return Promise.resolve();
  }

  forget(portal: string, ssoKey: string): Promise<void> {
    this.links.delete(linkKey(this.secret, portal, ssoKey));
    return Promise.resolve();
  }
}

export class RedisPortalLinks implements PortalLinks {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly secret: string,
  ) {}

  private key(portal: string, ssoKey: string): string {
    return `${this.keyPrefix}portal-link:${linkKey(this.secret, portal, ssoKey)}`;
  }

  async get(portal: string, ssoKey: string): Promise<number | undefined> {
    const v = await this.redis.get(this.key(portal, ssoKey));
    const id = v === null ? NaN : Number(v);
    return Number.isSafeInteger(id) && id > 0 ? id : undefined;
  }

  async set(portal: string, ssoKey: string, accountId: number): Promise<void> {
    await this.redis.set(this.key(portal, ssoKey), String(accountId), 'EX', TTL_SECONDS);
  }

  async forget(portal: string, ssoKey: string): Promise<void> {
    await this.redis.del(this.key(portal, ssoKey));
  }
}
