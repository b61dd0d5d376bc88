/**
 * A login in flight (OIDC/OAuth2 state, nonce, PKCE verifier, OAuth1 request token, SAML request id) kept in
 * the browser, not on the server: one sealed cookie per flow, so a flood of anonymous starts costs CPU only
 * and stores nothing (docs/security.md). AES-256-GCM under a key derived
 * from TYK_IB_SESSION_SECRET (HKDF-SHA256), the cookie name and profile ID as additional data, the profile's
 * version and the flow's expiry inside. A cookie that does not open is no cookie: never an error.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { cookiePairs } from './cookie-header.js';
import { seal, unseal } from './sealed.js';

const PREFIX = 'tib_flow_';
/** A browser holds at most this many flow cookies (tabs in flight); a start beyond it drops the oldest. */
export const MAX_FLOW_COOKIES = 8;
/** A flow is a few hundred bytes; a cookie far larger is not ours and is not decrypted. */
const MAX_COOKIE_CHARS = 4096;

/** Derived once per process and secret: a start costs one AES-GCM seal, no HKDF. */
let derived: { secret: string; key: Buffer } | undefined;
function keyFor(secret: string): Buffer {
  if (derived?.secret !== secret) derived = { secret, key: Buffer.from(hkdfSync('sha256', secret, '', 'tib login flow v1', 32)) };
  return derived.key;
}

/** The cookie of the flow whose lookup value (OIDC `state`, SAML `RelayState`) is `lookup`: one per tab. */
export function flowCookieName(lookup: string): string {
  return PREFIX + createHash('sha256').update(lookup).digest('base64url').slice(0, 16);
}

/** What a flow cookie is bound to: the profile and the version of it that started the login. */
export interface FlowBinding {
  secret: string;
  profileId: string;
  /** A digest of the profile (profileVersion): an edit between start and callback ends the login as expired. */
  version: string;
}

/** The digest of a validated profile, computed once when its provider is built. */
export function profileVersion(profile: unknown): string {
  return createHash('sha256').update(JSON.stringify(profile)).digest('base64url');
}

const aad = (name: string, profileId: string) => `${name}\n${profileId}`;

export function sealFlow(b: FlowBinding, name: string, flow: unknown, expiresAt: number): string {
  return seal(keyFor(b.secret), aad(name, b.profileId), JSON.stringify({ v: b.version, e: expiresAt, f: flow }));
}

export interface OpenedFlow {
  flow: unknown;
  expiresAt: number;
}

/** The flow sealed in `value` for this cookie name, profile and version, unexpired; else undefined. */
export function openFlow(b: FlowBinding, name: string, value: string, now = Date.now()): OpenedFlow | undefined {
  if (value.length > MAX_COOKIE_CHARS || !/^[\w-]+$/.test(value)) return undefined;
  // Another key, another profile or name, or tampered: no flow.
  const plain = unseal(keyFor(b.secret), aad(name, b.profileId), value);
  if (plain === undefined) return undefined;
  try {
    const sealed = JSON.parse(plain) as { v?: unknown; e?: unknown; f?: unknown };
    if (sealed.v !== b.version || typeof sealed.e !== 'number' || sealed.e <= now) return undefined;
    return { flow: sealed.f, expiresAt: sealed.e };
  } catch {
    return undefined;
  }
}

/** The parts of a login request and its answer this file uses (providers/provider.ts LoginRequest fits). */
export interface CookieExchange {
  header(name: string): string | undefined;
  setCookie(name: string, value: string, o: { httpOnly: boolean; sameSite: 'lax' | 'none'; secure: boolean; path: string; maxAgeSeconds: number }): void;
}

/** Every flow cookie the request carries, as [name, value] (a name may come twice, from two paths). */
function flowCookies(cookieHeader: string | undefined): Array<[string, string]> {
  return cookiePairs(cookieHeader).filter(([name]) => name.startsWith(PREFIX));
}

export interface FlowCookieOptions {
  secure: boolean;
  /** SameSite=None (with `secure` only): for flows that come back by a cross-site POST, as SAML's. */
  sameSiteNone?: boolean;
  path: string;
  timeoutSeconds: number;
}

/** One provider's flow cookies: sealed at the start, opened and cleared at the callback. */
export class LoginFlowCookies {
  constructor(
    private readonly binding: FlowBinding,
    private readonly o: FlowCookieOptions,
  ) {}

  private set(req: CookieExchange, name: string, value: string, maxAgeSeconds: number): void {
    req.setCookie(name, value, { httpOnly: true, sameSite: this.o.sameSiteNone && this.o.secure ? 'none' : 'lax', secure: this.o.secure, path: this.o.path, maxAgeSeconds });
  }

  /** At a start: seals `flow` in the cookie named from `lookup`, first expiring the oldest when the browser holds 8. */
  begin(req: CookieExchange, lookup: string, flow: unknown, now = Date.now()): void {
    const held = new Map<string, number>();
    for (const [name, value] of flowCookies(req.header('cookie'))) {
      // Ones that do not open here (damaged, expired, another profile's) go first.
      held.set(name, Math.max(held.get(name) ?? -Infinity, openFlow(this.binding, name, value, now)?.expiresAt ?? -Infinity));
    }
    const oldest = [...held].sort((a, b) => a[1] - b[1]).slice(0, Math.max(0, held.size - (MAX_FLOW_COOKIES - 1)));
    for (const [name] of oldest) this.set(req, name, '', 0);
    const name = flowCookieName(lookup);
    this.set(req, name, sealFlow(this.binding, name, flow, now + this.o.timeoutSeconds * 1000), this.o.timeoutSeconds);
  }

  /** At a callback: the flow sealed under `lookup`'s cookie (undefined when none opens); the cookie is cleared. */
  finish(req: CookieExchange, lookup: string, now = Date.now()): OpenedFlow | undefined {
    const name = flowCookieName(lookup);
    const values = flowCookies(req.header('cookie')).filter(([n]) => n === name);
    if (values.length === 0) return undefined;
    this.set(req, name, '', 0);
    for (const [, value] of values) {
      const opened = openFlow(this.binding, name, value, now);
      if (opened) return opened;
    }
    return undefined;
  }
}
