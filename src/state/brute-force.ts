/**
 * Brute-force protection for password logins: LDAP's (through providers/password-login.ts) and the proxy
 * provider's (providers/proxy/proxy.ts). Each profile counts attempts per (user, client) pair, per user over
 * the clients that have not signed in as that user before, and per client address (rate-limiter-flexible), in
 * memory or, with `BackEnd.Name: "redis"`, on Redis so every replica sees the same counters. The user is the
 * canonical one (the directory entry's DN after the search), so aliases share a counter; a browser that has
 * proven the password carries a device cookie (device-cookie.ts) and is counted on its own. See admit().
 *
 * An attempt is counted BEFORE the password is checked: a burst of parallel guesses cannot all slip past a
 * check that only later records failures. The attempt past the limit is refused (and the key blocked for
 * BlockSeconds) without touching the directory or upstream. A success resets the pair and user counters and
 * gives the address its point back; an attempt the directory or upstream could not judge gives all back.
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
import { DeviceCookies } from './device-cookie.js';
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
   * The session secret: the log hash of usernames is keyed from it (replicas sharing it log the same hash for
   * the same user; without it, a random key per process), and so are device cookies (none without it).
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
    readonly kind: Kind,
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

/** Who is trying, beyond the address: what a provider knows about the client of one login attempt. */
export interface ClientFacts {
  /** A client a peer outside TrustedProxies names in X-Forwarded-For (client-ip.ts untrustedForwardedClient). */
  forwardedClient?: string;
  /** A device id this client proved for this user with a device cookie (state/device-cookie.ts). */
  device?: string;
  /**
   * Nobody is named before the check (a form only the upstream reads): only the address counts, since a
   * per-user counter for "nobody" would be every such client's.
   */
  unnamed?: boolean;
}

/**
 * A user may be tried this many times UsernameLimit in a window from clients that have not proven the
 * password before (no device cookie), summed over all of them, before those clients are refused: slower than
 * the per-client limit, so locking a user out needs several clients, and never those that proved the password.
 */
export const USER_LIMIT_FACTOR = 3;

type Kind = 'pair' | 'username' | 'ip';

export class BruteForceGuard {
  /** Per (user, client): the lock a guesser earns for themselves (Auth0's and OWASP's shape). */
  private readonly byPair?: Counter;
  /** Per user, over clients without a device cookie: slowed down (USER_LIMIT_FACTOR). */
  private readonly byUsername?: Counter;
  private readonly byIp?: Counter;
  private readonly logKey: Buffer;
  /** Device cookies of this profile, keyed from the session secret; undefined without one. */
  readonly devices: DeviceCookies | undefined;

  constructor(private readonly opts: BruteForceGuardOptions) {
    const { settings: s, profileId, redis, keyPrefix, log } = opts;
    // One view of Redis for all counters: the next does not wait out a hung Redis again.
    const health = new RedisHealth();
    const counter = (kind: Kind, points: number): Counter | undefined => {
      if (points <= 0) return undefined;
      const base = { points, duration: s.WindowSeconds, blockDuration: s.BlockSeconds, keyPrefix: `${keyPrefix}lockout:${profileId}:${kind === 'username' ? 'user' : kind}` };
      const memory = new RateLimiterMemory(base);
      // Fail fast while the client is not connected (no queueing behind a reconnect): the fallback counts.
      const primary = redis ? new RateLimiterRedis({ ...base, storeClient: redis, rejectIfRedisNotReady: true }) : memory;
      return new Counter(kind, points, primary, redis ? memory : undefined, health, log, profileId);
    };
    this.byPair = counter('pair', s.UsernameLimit);
    this.byUsername = counter('username', s.UsernameLimit * USER_LIMIT_FACTOR);
    this.byIp = counter('ip', s.IPLimit);
    // Derived, so the log hash says nothing about the secret it comes from.
    this.logKey = crypto.createHmac('sha256', opts.logSecret || crypto.randomBytes(32)).update('tib brute-force log hash').digest();
    this.devices = DeviceCookies.from(opts.logSecret ?? '', profileId);
  }

  get enabled(): boolean {
    return this.byPair !== undefined || this.byIp !== undefined;
  }

  /**
   * Count this attempt at `user` (the canonical user: the directory entry's DN after the search, else what was
   * typed) from `ip`; refused when locked out. Throws nothing. In order:
   * - the address: past IPLimit it is refused, except that a peer forwarding X-Forwarded-For without being in
   *   TrustedProxies (a balancer nobody listed) is then counted per forwarded client, so one guesser behind it
   *   cannot lock out everyone else (issue 17, finding 3);
   * - the (user, client) pair, the client being the device id when `facts.device` is given: UsernameLimit;
   * - the user over every client without a device cookie: UsernameLimit x USER_LIMIT_FACTOR.
   * A client with a device cookie for this user is counted only as its own pair: others' failures never
   * block it (finding 5). Refused attempts give back what they counted: they reached no directory.
   */
  async admit(user: string, ip: string, facts: ClientFacts = {}): Promise<Admission> {
    const userKey = usernameKey(user);
    const net = ipCounterKey(ip);
    const via = facts.forwardedClient === undefined ? undefined : `${net}|${ipCounterKey(facts.forwardedClient)}`;
    const taken: Array<[Counter, string]> = [];
    const giveBack = () => Promise.all(taken.map(([c, k]) => c.reward(k)));
    const take = async (counter: Counter | undefined, key: string): Promise<boolean> => {
      if (!counter) return true;
      const ok = await this.consume(counter, key, user, ip);
      if (ok) taken.push([counter, key]);
      return ok;
    };

    if (!facts.device) {
      const byAddress = await take(this.byIp, net);
      // Past the limit behind an unlisted balancer, the forwarded client's own budget decides.
      const byForwarded = via === undefined ? byAddress : await take(this.byIp, via);
      if (!byAddress && !byForwarded) return { allowed: false, reason: `locked out: too many attempts from ${ip}` };
    }
    const client = facts.device ? `device:${facts.device}` : (via ?? net);
    const pair = crypto.createHash('sha256').update(`${userKey}\n${client}`).digest('hex');
    if (facts.unnamed) return { allowed: true, attempt: { failed: async () => undefined, succeeded: async () => void (await giveBack()), undecided: async () => void (await giveBack()) } };
    if (!(await take(this.byPair, pair))) {
      await giveBack();
      return { allowed: false, reason: 'locked out: too many attempts for this username from this client' };
    }
    if (!facts.device && !(await take(this.byUsername, userKey))) {
      await giveBack();
      return { allowed: false, reason: 'locked out: too many attempts for this username from clients it has not signed in from' };
    }
    return {
      allowed: true,
      attempt: {
        failed: async () => undefined,
        succeeded: async () => {
          // The password is proven: this pair and the user start again; the address gets its point back.
          await Promise.all([this.byPair?.reset(pair), this.byUsername?.reset(userKey), ...taken.filter(([c]) => c === this.byIp).map(([c, k]) => c.reward(k))]);
        },
        undecided: async () => {
          await giveBack();
        },
      },
    };
  }

  /** A short keyed hash of the username for logs: lets an operator follow one user without naming them. */
  userHash(username: string): string {
    return crypto.createHmac('sha256', this.logKey).update(usernameKey(username)).digest('hex').slice(0, 12);
  }

  private async consume(counter: Counter, key: string, username: string, ip: string): Promise<boolean> {
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
        ...(counter.kind === 'ip' && { hint: 'logins from this address are refused until the block ends, except those a peer outside TrustedProxies forwards for another client (X-Forwarded-For, counted per client then); if it is a load balancer or proxy, list it in TrustedProxies' }),
      });
    }
    return r.ok;
  }
}
