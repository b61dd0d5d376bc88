/**
 * Exactly one directory sync runner per profile across the replicas (issue 20): a Redis lock with an expiry
 * (`SET key token NX PX`), renewed while the run lasts, and a fencing check before each write (the lock still
 * holds this runner's token), so a runner that stalled past its expiry stops writing once another has taken
 * over. In memory mode (no shared Redis) the lock is this process's. Released only by its owner (compare and
 * delete), never by another replica.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis-client.js';

export interface SyncLock {
  /** The lock still holds this runner's token (checked before each write). */
  stillOwner(): Promise<boolean>;
  release(): Promise<void>;
}

/** How long a lock lives without renewal; renewed every third of it while the run goes on. */
export const LOCK_TTL_MS = 60_000;

const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

const held = new Set<string>();

/** The lock, or undefined when another runner holds it. */
export async function acquireSyncLock(redis: RedisClient | undefined, keyPrefix: string, profile: string, ttlMs = LOCK_TTL_MS): Promise<SyncLock | undefined> {
  const key = `${keyPrefix}sync-lock:${profile}`;
  if (!redis) {
    if (held.has(key)) return undefined;
    held.add(key);
    let released = false;
    return {
      stillOwner: () => Promise.resolve(!released),
      release: () => {
        released = true;
        held.delete(key);
        return Promise.resolve();
      },
    };
  }
  const token = randomBytes(16).toString('hex');
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;
  let lost = false;
  const renew = setInterval(() => {
    redis.eval(RENEW, 1, key, token, String(ttlMs)).then(
      (r) => {
        if (r !== 1) lost = true;
      },
      () => undefined,
    );
  }, Math.max(1000, Math.floor(ttlMs / 3)));
  renew.unref();
  return {
    async stillOwner() {
      if (lost) return false;
      const now = await redis.get(key);
      if (now !== token) lost = true;
      return !lost;
    },
    async release() {
      clearInterval(renew);
      await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    },
  };
}
