/**
 * The edge's chores of a password login, shared by ADProvider and ProxyProvider, as Dex splits its
 * PasswordConnector from the server: credentials (form, multipart or Basic), the Origin check, the
 * brute-force guard, padding the answer to a password check's time, and the login page. The directory code
 * behind it only answers `authenticate(username, password)` with an identity or a refusal, and knows no HTTP.
 */
import type { Identity } from '../identity/identity.js';
import type { Profile } from '../profiles/profile.js';
import { usernameKey, type BruteForceGuard, type LoginAttempt } from '../state/brute-force.js';
import { DEVICE_COOKIE, DEVICE_COOKIE_SECONDS } from '../state/device-cookie.js';
import { readCredentials } from './credentials.js';
import { LOGIN_PAGE_HEADERS, renderLoginPage } from './login-page.js';
import type { LoginFailure, LoginRequest, ProviderOutcome } from './provider.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A login the directory refused (wrong password, unknown or ambiguous user). Returned, not thrown: the
 * directory answered normally (a pool keeps its connection).
 */
export class Refused {
  constructor(
    readonly reason: string,
    /** How long to wait before answering (e.g. ldap/ldap-timing.ts), spent after any connection is given back. */
    readonly delayMs = 0,
  ) {}
}

/** Counts a login attempt at the canonical user with the brute-force guard: false when it is locked out. */
export type Admit = (canonicalUser: string) => Promise<boolean>;

/** What a failed outbound check tells the log: its status, reason, and the target and fix when known. */
export type Unavailable = Pick<LoginFailure, 'status' | 'reason' | 'target' | 'hint'>;

export interface PasswordLoginOptions {
  profile: Pick<Profile, 'ID' | 'Name'>;
  /** Credentials from the Basic header (GetAuthFromBAHeader) instead of the form. */
  fromBasicHeader: boolean;
  /** Origins besides the broker's own that may post the form (LDAPAllowedOrigins); every other is refused. */
  allowedOrigins: readonly string[];
  guard: BruteForceGuard;
  /** The username as the directory compares it (surrounding spaces, Unicode form). */
  normalizeUsername(typed: string): string;
  /** How long to wait before refusing a login that checked no password, so it looks like one that did. */
  padding(): number;
  /**
   * Checks the password. Before any password check it calls `admit` with the canonical user (the directory
   * entry's DN once the search found it, else what was typed) and, when that answers false (locked out),
   * returns at once. Throws only when the check could not be made (directory down, timed out).
   */
  authenticate(username: string, password: string, admit: Admit): Promise<Identity | Refused>;
  /** A thrown error of `authenticate`, for the log and the answer's status (502, 503, 504). */
  unavailable(err: unknown): Unavailable;
}

/**
 * Login CSRF (a foreign page signing the victim in as the attacker): the origin a POST came from when it is
 * neither the broker's own nor listed, else undefined. `Sec-Fetch-Site: same-origin` is the browser's word
 * that it is the broker's own page, also where a TLS-terminating balancer makes `ownOrigin` read http://.
 * `same-site` (a sibling host) is foreign too. No Origin and no Sec-Fetch-Site (curl, old clients) passes.
 */
function crossOriginPost(req: LoginRequest, allowed: readonly string[]): string | undefined {
  const origin = req.header('Origin');
  const site = req.header('Sec-Fetch-Site');
  if (origin !== undefined && allowed.includes(origin)) return undefined;
  if (origin === req.ownOrigin || site === 'same-origin') return undefined;
  if (origin !== undefined) return origin;
  return site === 'cross-site' || site === 'same-site' ? `(no Origin, Sec-Fetch-Site: ${site})` : undefined;
}

/** The locked-out failure: a wrong password's answer, its own class for metrics and the audit log. */
export function lockedOut(reason: string, message: string): LoginFailure {
  return { reason, status: 401, message, class: 'locked_out' };
}

/** The whole password login of one request: the page, or an identity, or a failure with the form again. */
export function passwordLogin(o: PasswordLoginOptions): (req: LoginRequest) => Promise<ProviderOutcome> {
  const title = o.profile.Name || 'Sign in';

  const fail = (req: LoginRequest, failure: LoginFailure, username = ''): ProviderOutcome => {
    if (req.wantsHtml) {
      const message = failure.status >= 500 ? 'Sign-in is unavailable right now. Please try again later.' : 'Sign-in failed. Check your username and password.';
      failure.html = renderLoginPage({ title, action: req.path, message, username });
      // The form again: as frame-proof as the first time it was served.
      failure.headers = LOGIN_PAGE_HEADERS;
    }
    return { kind: 'failure', failure };
  };
  const refused = (req: LoginRequest, status: number, reason: string, username = '') => fail(req, { reason, status, message: 'Login failed' }, username);

  return async (req) => {
    if (req.method === 'POST') {
      const crossSite = crossOriginPost(req, o.allowedOrigins);
      if (crossSite) return refused(req, 403, `form posted from an origin not in LDAPAllowedOrigins: ${crossSite}`);
    }
    const creds = readCredentials(req, o.fromBasicHeader);
    if (creds.kind === 'refused') return refused(req, 400, creds.reason);
    if (creds.kind === 'none') {
      if (o.fromBasicHeader) {
        return { kind: 'page', status: 401, html: 'Authentication required\n', headers: { 'WWW-Authenticate': `Basic realm="${o.profile.ID}", charset="UTF-8"` } };
      }
      if (req.method === 'GET' || req.method === 'HEAD') {
        return { kind: 'page', status: 200, html: renderLoginPage({ title, action: req.path }), headers: LOGIN_PAGE_HEADERS };
      }
      return refused(req, 400, 'no username or password in the request');
    }
    const { password } = creds;
    const username = o.normalizeUsername(creds.username);
    if (username === '') return refused(req, 401, 'blank username');
    // A simple LDAP bind with an empty password is an unauthenticated bind that servers accept (RFC 4513 5.1.2).
    if (password.trim() === '') return refused(req, 401, 'blank password refused before any bind', username);
    // The guard counts the user the directory resolved, so an alias (uid or mail) shares its counter.
    let attempt: LoginAttempt | undefined;
    let locked: string | undefined;
    let canonical = '';
    let device: string | undefined;
    const admit: Admit = async (user) => {
      canonical = user;
      device = o.guard.devices?.open(req.header('cookie'), usernameKey(user));
      const admission = await o.guard.admit(user, req.clientIp, { forwardedClient: req.forwardedClient, device });
      if (!admission.allowed) {
        locked = admission.reason;
        return false;
      }
      attempt = admission.attempt;
      return true;
    };
    try {
      const result = await o.authenticate(username, password, admit);
      if (locked !== undefined) {
        // The directory was not asked for a password; the answer is a wrong password's, after as long as a check.
        await sleep(o.padding());
        return fail(req, lockedOut(locked, 'Login failed'), username);
      }
      if (!attempt) throw new Error('the password was checked without counting the attempt (authenticate must call admit)');
      if (result instanceof Refused) {
        await attempt.failed();
        // Waited out with the connection back in the pool: a flood of unknown users must not hold them.
        if (result.delayMs > 0) await sleep(result.delayMs);
        return refused(req, 401, result.reason, username);
      }
      await attempt.succeeded();
      // This browser has proven the password: from now on others' failures do not lock it out (state/device-cookie.ts).
      const value = o.guard.devices?.issue(usernameKey(canonical), device);
      if (value) {
        const path = req.path.slice(0, req.path.lastIndexOf('/') + 1) || '/';
        req.setCookie(DEVICE_COOKIE, value, { httpOnly: true, sameSite: 'lax', secure: req.ownOrigin.startsWith('https:'), path, maxAgeSeconds: DEVICE_COOKIE_SECONDS });
      }
      return { kind: 'identity', identity: result };
    } catch (err) {
      // The directory could not judge the password: not a guess.
      await attempt?.undecided();
      // Named with the directory it tried and, when the cause is typical, the setting to check.
      return fail(req, { ...o.unavailable(err), message: 'Login failed' }, username);
    }
  };
}
