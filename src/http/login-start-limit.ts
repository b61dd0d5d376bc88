/**
 * tib.conf `LoginStartsPerMinute`: how many redirect logins (the providers whose modules use the login
 * cookie: src/providers/registry.ts cookieProviders) one client address may start per minute. Anyone can
 * send a start, and each costs the broker CPU (a sealed cookie: src/state/login-flow-cookie.ts; nothing is
 * stored), so it is counted here, in memory and per replica: never on Redis, or anonymous visitors would
 * cause Redis writes themselves. Keyed like the brute-force guard (src/client-ip.ts ipCounterKey: an IPv6
 * /64 as one client). Fixed windows of a minute from a client's first start; since every window lasts as
 * long, the map's insertion order is also the order the windows end in.
 */
import { ipCounterKey } from '../client-ip.js';

/** Clients tracked at once; past it the oldest windows are dropped, so memory stays bounded whatever the addresses. */
export const MAX_TRACKED_CLIENTS = 100_000;
const WINDOW_MS = 60_000;

/** A start past the limit: when the client may try again, and whether this is its first refusal of the window. */
export interface StartRefusal {
  retryAfterSeconds: number;
  /** True once per client and window: the caller logs (and audits) only that one. */
  first: boolean;
}

interface Window {
  since: number;
  starts: number;
  refused: boolean;
}

export class LoginStartLimit {
  /** Oldest window first (insertion order): ended windows are always at the front. */
  private readonly clients = new Map<string, Window>();

  constructor(
    private readonly perMinute: number,
    private readonly maxClients = MAX_TRACKED_CLIENTS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a start from `client`; undefined when it may go on, else the refusal. A limit of 0 allows all. */
  take(client: string): StartRefusal | undefined {
    if (this.perMinute === 0) return undefined;
    const t = this.now();
    this.dropEnded(t);
    const key = ipCounterKey(client);
    let w = this.clients.get(key);
    if (!w) {
      // Full: the oldest window goes (that client starts afresh), never a refusal for want of room.
      if (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value as string);
      w = { since: t, starts: 0, refused: false };
      this.clients.set(key, w);
    }
    if (++w.starts <= this.perMinute) return undefined;
    const first = !w.refused;
    w.refused = true;
    return { retryAfterSeconds: Math.max(1, Math.ceil((w.since + WINDOW_MS - t) / 1000)), first };
  }

  /** Clients tracked now (for the tests of the bound). */
  get size(): number {
    return this.clients.size;
  }

  /** Windows that have ended, from the oldest: amortised O(1) per start. */
  private dropEnded(t: number): void {
    for (const [key, w] of this.clients) {
      if (t - w.since < WINDOW_MS) return;
      this.clients.delete(key);
    }
  }
}
