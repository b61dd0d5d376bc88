/**
 * Refusals that take as long as a password check. A directory refuses a bind to a DN that does not exist
 * without hashing anything, so with a slow hash (Argon2, PBKDF2) an unknown user answers in milliseconds and
 * a wrong password in hundreds: a username oracle. Each profile keeps the durations of recent binds that did
 * check a password; a refusal that checked none waits for one of them, drawn at random, so unknown users are
 * refused on the same distribution of delays as wrong passwords.
 */

export interface BindTimingOptions {
  /** Samples kept (the most recent); older ones are overwritten. */
  capacity?: number;
  /** The delay before any bind has been measured. */
  fallbackMs?: number;
  /** Never wait longer (a sample taken while the directory stalled would otherwise stall every refusal). */
  maxMs: number;
  /** Uniform in [0, 1); injected by tests. */
  random?: () => number;
}

export const DEFAULT_CAPACITY = 64;
/** Before the first measured bind of a profile: about what a slow hash costs. */
export const DEFAULT_FALLBACK_MS = 100;

export class BindTiming {
  private readonly samples: number[] = [];
  private next = 0;
  private readonly capacity: number;
  private readonly fallbackMs: number;
  private readonly random: () => number;

  constructor(private readonly opts: BindTimingOptions) {
    this.capacity = Math.max(1, opts.capacity ?? DEFAULT_CAPACITY);
    this.fallbackMs = opts.fallbackMs ?? DEFAULT_FALLBACK_MS;
    this.random = opts.random ?? Math.random;
  }

  /** How long a bind that checked a password took. */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    // A ring buffer: bounded memory, and the samples follow the directory when its hashing cost changes.
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.capacity;
  }

  /** How much longer a refusal that has spent `spentMs` without checking a password should wait. */
  padding(spentMs: number): number {
    const n = this.samples.length;
    const target = n === 0 ? this.fallbackMs : (this.samples[Math.min(n - 1, Math.floor(this.random() * n))] as number);
    return Math.max(0, Math.min(target, this.opts.maxMs) - spentMs);
  }

  get size(): number {
    return this.samples.length;
  }
}
