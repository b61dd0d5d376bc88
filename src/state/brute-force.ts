/**
 * Brute-force protection for password logins: LDAP's (through providers/password-login.ts) and the proxy
 * provider's Basic auth (providers/proxy/proxy.ts). Each profile counts attempts per username and per client
 * IP (rate-limiter-flexible), in memory or, with `BackEnd.Name: "redis"`, on Redis so every replica sees the
 * same counters.
 *
 * An attempt is counted BEFORE the password is checked: a burst of parallel guesses cannot all slip past a
 * check that only later records failures. The attempt past the limit is refused (and the key blocked for
 * BlockSeconds) without touching the directory or upstream. A success resets the username counter and gives
 * the IP its point back; an attempt the directory or upstream could not judge (down, timed out) gives both back.
 *
 * Redis errors do not lock everybody out and do not switch the protection off: the guard counts in this
 * process until Redis answers again (per replica, so an attacker spreading over replicas gets more tries
 * during an outage), with one WARN when that starts and one INFO when it ends.
 */
import crypto from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { BruteForceSettings } from '../config/types.js';
import { ipCounterKey } from '../client-ip.js';
import type { Logger } from '../log.js';
import { recordLockout } from '../metrics.js';
import type { RedisClient } from './redis-client.js';

/** A login the guard let through: tell it how the password check ended. */
export interface LoginAttempt {
  /** The directory refused the password (or the user is unknown): the attempt stays counted. */
  failed(): Promise<void>;
  /** Logged in: the username counter starts again, the IP gets its point back. */
  succeeded(): Promise<void>;
  /** The directory could not judge (unreachable, timed out, pool full): not a guess, both points back. */
  undecided(): Promise<void>;
}

export type Admission = { allowed: true; attempt: LoginAttempt } | { allowed: false; reason: string };

export interface BruteForceGuardOptions {
  profileId: string;
  /** tib.conf `BruteForce`, or a profile's `ProviderConfig.BruteForce` over it. */
  settings: BruteForceSettings;
  log: Logger;
  /** Shared counters; without it they live in this process. */
  redis?: RedisClient;
  /** `BackEnd.KeyPrefix`; keys are `<prefix>lockout:<profile>:user:<sha256>` and `...:ip:<IPv4 address or IPv6 /64>`. */
  keyPrefix: string;
  /**
   * A secret the log hash of usernames is keyed from (the session secret): replicas sharing it log the same
   * hash for the same user. Without it, a random key per process.
   */
  logSecret?: string;
}

/** Characters LDAP string preparation maps to nothing (RFC 4518 2.2, RFC 3454 table B.1). */
const MAPPED_TO_NOTHING = /[\u00ad\u1806\u200b-\u200d\u2060\ufeff]|\u034f|\p{Variation_Selector}/gu;

/**
 * The key a username is counted under: at least as coarse as the directory's comparison (RFC 4518 and what
 * slapd does), so no spelling it accepts as the same user gets a fresh counter: compatibility-composed,
 * characters mapped to nothing dropped, case-folded ("İ" as "i", as slapd), runs of spaces as one, trimmed.
 * Then hashed: bounded length, and no usernames in Redis.
 */
export function usernameKey(username: string): string {
  const folded = username.normalize('NFKC').replace(MAPPED_TO_NOTHING, '').toLowerCase().replace(/i\u0307/gu, 'i').replace(/\s+/gu, ' ').trim();
  return crypto.createHash('sha256').update(folded).digest('hex');
}

/** Redis as the guard's counters see it: while it fails, they count in memory and ask it again only now and then. */
class RedisHealth {
  failingOver = false;
  /** While failing over, Redis is asked again from this time (ms): a hung Redis costs a login Timeout once, not per call. */
  retryAt = 0;
}

/** How long the counters stay in memory after a Redis failure before asking Redis again. */
const REDIS_RETRY_MS = 5000;

class Counter {
  constructor(
    readonly kind: 'username' | 'ip',
    readonly points: number,
    private readonly primary: RateLimiterAbstract,
    /** Counts in this process while the primary (Redis) fails; undefined when the primary is memory. */
    private readonly fallback: RateLimiterAbstract | undefined,
    private readonly health: RedisHealth,
    private readonly log: Logger,
    private readonly profileId: string,
  ) {}

  /** Counts one attempt: true when still within the limit; `crossed` on the attempt that starts a lockout. */
  async consume(key: string): Promise<{ ok: boolean; crossed: boolean }> {
    try {
      await this.run((l) => l.consume(key));
      return { ok: true, crossed: false };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      // Redis increments atomically: exactly one attempt, on one replica, sees the limit crossed.
      return { ok: false, crossed: err.consumedPoints === this.points + 1 };
    }
  }

  /** Best effort: a point not given back only brings a lockout closer, never opens one. */
  async reward(key: string): Promise<void> {
    await this.run((l) => l.reward(key)).catch(() => undefined);
  }

  async reset(key: string): Promise<void> {
    await this.run((l) => l.delete(key)).catch(() => undefined);
  }

  private async run<T>(op: (l: RateLimiterAbstract) => Promise<T>): Promise<T> {
    if (!this.fallback) return op(this.primary);
    const h = this.health;
    if (h.failingOver && Date.now() < h.retryAt) return op(this.fallback);
    try {
      const result = await op(this.primary);
      if (h.failingOver) {
        h.failingOver = false;
        this.log.info('login attempt counters are on Redis again', { profile: this.profileId });
      }
      return result;
    } catch (err) {
      if (err instanceof RateLimiterRes) throw err;
      h.retryAt = Date.now() + REDIS_RETRY_MS;
      if (!h.failingOver) {
        h.failingOver = true;
        const reason = err instanceof Error ? err.message : String(err);
        this.log.warn('Redis unavailable for login attempt counters: counting in this process until it answers again', { profile: this.profileId, counter: this.kind, reason });
      }
      return op(this.fallback);
    }
  }
}

export class BruteForceGuard {
  private readonly byUsername?: Counter;
  private readonly byIp?: Counter;
  private readonly logKey: Buffer;

  constructor(private readonly opts: BruteForceGuardOptions) {
    const { settings: s, profileId, redis, keyPrefix, log } = opts;
    // One view of Redis for both counters: the second does not wait out a hung Redis again.
    const health = new RedisHealth();
    const counter = (kind: 'username' | 'ip', points: number): Counter | undefined => {
      if (points <= 0) return undefined;
      const base = { points, duration: s.WindowSeconds, blockDuration: s.BlockSeconds, keyPrefix: `${keyPrefix}lockout:${profileId}:${kind === 'username' ? 'user' : 'ip'}` };
      const memory = new RateLimiterMemory(base);
      // Fail fast while the client is not connected (no queueing behind a reconnect): the fallback counts.
      const primary = redis ? new RateLimiterRedis({ ...base, storeClient: redis, rejectIfRedisNotReady: true }) : memory;
      return new Counter(kind, points, primary, redis ? memory : undefined, health, log, profileId);
    };
    this.byUsername = counter('username', s.UsernameLimit);
    this.byIp = counter('ip', s.IPLimit);
    // Derived, so the log hash says nothing about the secret it comes from.
    this.logKey = crypto.createHmac('sha256', opts.logSecret || crypto.randomBytes(32)).update('tib brute-force log hash').digest();
  }

  get enabled(): boolean {
    return this.byUsername !== undefined || this.byIp !== undefined;
  }

  /** Count this attempt; refused when the username or the IP is locked out. Throws nothing. */
  async admit(username: string, ip: string): Promise<Admission> {
    const user = usernameKey(username);
    const net = ipCounterKey(ip);
    const byIp = await this.consume(this.byIp, net, username, ip);
    if (!byIp) return { allowed: false, reason: `locked out: too many attempts from ${ip}` };
    const byUser = await this.consume(this.byUsername, user, username, ip);
    if (!byUser) {
      // Not a guess the directory saw: the IP keeps its point (a locked user retrying from a shared NAT
      // must not lock the whole office out).
      await this.byIp?.reward(net);
      return { allowed: false, reason: 'locked out: too many attempts for this username' };
    }
    return {
      allowed: true,
      attempt: {
        failed: async () => undefined,
        succeeded: async () => {
          await Promise.all([this.byUsername?.reset(user), this.byIp?.reward(net)]);
        },
        undecided: async () => {
          await Promise.all([this.byUsername?.reward(user), this.byIp?.reward(net)]);
        },
      },
    };
  }

  /** A short keyed hash of the username for logs: lets an operator follow one user without naming them. */
  userHash(username: string): string {
    return crypto.createHmac('sha256', this.logKey).update(usernameKey(username)).digest('hex').slice(0, 12);
  }

  private async consume(counter: Counter | undefined, key: string, username: string, ip: string): Promise<boolean> {
    if (!counter) return true;
    let r: { ok: boolean; crossed: boolean };
    try {
      r = await counter.consume(key);
    } catch (err) {
      // Neither Redis nor memory could count (should not happen): let the login through, say so.
      this.opts.log.warn('login attempt not counted', { profile: this.opts.profileId, counter: counter.kind, reason: err instanceof Error ? err.message : String(err) });
      return true;
    }
    if (r.crossed) {
      recordLockout(this.opts.profileId, counter.kind);
      this.opts.log.warn('locked out', {
        profile: this.opts.profileId,
        by: counter.kind,
        user: this.userHash(username),
        ip,
        attempts: counter.points,
        windowSeconds: this.opts.settings.WindowSeconds,
        blockSeconds: this.opts.settings.BlockSeconds,
        // A balancer TrustedProxies does not name makes its address everyone's (http/auth-routes.ts warns too).
        ...(counter.kind === 'ip' && { hint: 'every login from this address is refused until the block ends; if it is a load balancer or proxy, list it in TrustedProxies (X-Forwarded-For is read only from those)' }),
      });
    }
    return r.ok;
  }
}
