/**
 * The IdP's id_token signing keys (its `jwks_uri`), cached per profile. A token that names a key we do not
 * have (the IdP rotated its keys) triggers one refetch at once, through a small token bucket, so tokens with
 * random `kid`s cannot make us flood the IdP. openid-client's own cache refuses to refetch for 60 s after a
 * download, which would fail every login in the minute after a rotation; so we verify signatures here and
 * leave the claim checks (iss, aud, azp, exp, nonce) to openid-client.
 *
 * Not jose's createRemoteJWKSet (jose 6, dist/webapi/jwks/remote.js), which keeps neither rule: its
 * `cooldownDuration` allows one unknown-kid refetch per period counted from the last download (no burst, so
 * a rotation just after a scheduled refresh also waits the whole period), and when `cacheMaxAge` has passed
 * and the refetch fails it throws instead of verifying with the last good set. Its clock is Date.now, so
 * test/integration/oidc/jwks.test.ts could not drive it either; the key lookup itself is jose's
 * createLocalJWKSet.
 */
import * as jose from 'jose';
import { FlowError } from './handler.js';
import type { IdpFetch } from './idp-fetch.js';

export interface JwksOptions {
  uri: string;
  timeoutMs: number;
  /** Plain http is allowed only when the discovery document itself came over http (tests, labs). */
  allowHttp: boolean;
  /** The profile's transport (its CA bundle, or SSLInsecureSkipVerify); the global fetch when absent. */
  fetch?: IdpFetch;
  /** Refetch after this long even without an unknown kid. */
  maxAgeMs?: number;
  /** Unknown-kid refetches allowed at once, and how often one more is earned. */
  burst?: number;
  refillMs?: number;
  now?: () => number;
}

/** Symmetric (HS*) keys would be the client secret: never accept them where a public key is expected. */
export function asymmetricAlgorithms(supported: readonly string[] | undefined): string[] {
  const algs = (supported ?? ['RS256']).filter((a) => a !== 'none' && !a.startsWith('HS'));
  return algs.length > 0 ? algs : ['RS256'];
}

/** One download of the IdP's keys; jose keeps each key imported inside the set, so it is built once. */
interface KeySet {
  getKey: ReturnType<typeof jose.createLocalJWKSet>;
  at: number;
}

export class IdpKeys {
  private keys?: KeySet;
  private inflight?: Promise<KeySet>;
  private tokens: number;
  private refilledAt: number;
  private readonly now: () => number;

  constructor(private readonly o: JwksOptions) {
    this.now = o.now ?? Date.now;
    this.tokens = o.burst ?? 3;
    this.refilledAt = this.now();
  }

  /** Verifies the compact JWS's signature with the IdP's key for its `kid`; throws FlowError otherwise. */
  async verify(jws: string, algorithms: string[]): Promise<void> {
    const check = (set: KeySet) => jose.compactVerify(jws, set.getKey, { algorithms });
    const set = await this.current();
    try {
      await check(set);
      return;
    } catch (err) {
      if (!(err instanceof jose.errors.JWKSNoMatchingKey)) throw this.rejected(err);
    }
    // Another login may have refetched meanwhile; otherwise spend a token on a refetch.
    const newer = this.keys && this.keys !== set ? this.keys : this.takeToken() ? await this.fetch() : undefined;
    if (!newer) throw this.rejected(new jose.errors.JWKSNoMatchingKey());
    try {
      await check(newer);
    } catch (err) {
      throw this.rejected(err);
    }
  }

  private rejected(err: unknown): FlowError {
    const what = err instanceof jose.errors.JWKSNoMatchingKey ? 'no key of the IdP matches the id_token' : err instanceof Error ? err.message : String(err);
    return new FlowError(`id_token signature rejected: ${what}`);
  }

  private async current(): Promise<KeySet> {
    const maxAge = this.o.maxAgeMs ?? 10 * 60 * 1000;
    if (this.keys && this.now() - this.keys.at < maxAge) return this.keys;
    try {
      return await this.fetch();
    } catch (err) {
      // A stale set still verifies tokens signed with keys the IdP has not rotated away.
      if (this.keys) return this.keys;
      throw err;
    }
  }

  private takeToken(): boolean {
    const burst = this.o.burst ?? 3;
    const refill = this.o.refillMs ?? 30_000;
    const earned = Math.floor((this.now() - this.refilledAt) / refill);
    if (earned > 0) {
      this.tokens = Math.min(burst, this.tokens + earned);
      this.refilledAt += earned * refill;
    }
    if (this.tokens === 0) return false;
    this.tokens--;
    return true;
  }

  /** One download at a time; concurrent logins share it. */
  private fetch(): Promise<KeySet> {
    this.inflight ??= this.download().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async download(): Promise<KeySet> {
    const url = new URL(this.o.uri);
    if (url.protocol !== 'https:' && !(this.o.allowHttp && url.protocol === 'http:')) {
      throw new FlowError(`jwks_uri ${url.origin} is not https`);
    }
    let res: Response;
    try {
      res = await (this.o.fetch ?? fetch)(url, { headers: { Accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(this.o.timeoutMs) });
    } catch (err) {
      throw new FlowError(`the IdP's keys (jwks_uri) are unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    const body: unknown = res.ok ? await res.json().catch(() => undefined) : undefined;
    const keys = (body as { keys?: unknown } | undefined)?.keys;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'object' && k !== null)) {
      throw new FlowError(`the IdP's jwks_uri answered ${res.status} without a JSON key set`);
    }
    this.keys = { getKey: jose.createLocalJWKSet({ keys: keys as jose.JWK[] }), at: this.now() };
    return this.keys;
  }
}
