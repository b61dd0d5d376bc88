/**
 * ProxyProvider: the login request is passed on to an existing HTTP login service (TargetHost) and its
 * answer decides (docs/tib-behaviour.md §4.3). The upstream's answer is never relayed to the client. A login that carries Basic
 * credentials goes through the brute-force guard first, as LDAP logins do: past the limit, the upstream is
 * not asked. Failures: 401 when the upstream refused, 502 when it failed or answered unusably, 504 when it
 * timed out; TIB answers 401 "Authentication Failed" to all of them.
 */
import { getLogger } from '../../log.js';
import type { LoginAttempt } from '../../state/brute-force.js';
import { basicCredentials } from '../credentials.js';
import type { ProviderProfile } from '../module.js';
import { lockedOut } from '../password-login.js';
import type { LoginRequest, Provider, ProviderOutcome, ProviderServices } from '../provider.js';
import { failedGate, proxyIdentity, whoFrom } from './answer.js';
import { compileOkRegex, type ProxyConfig } from './proxy-config.js';
import { createUpstream, RequestRefused, UpstreamError } from './upstream.js';

/** The user of a Basic Authorization header, or undefined (no header, another scheme, blank user). */
export function basicUsername(header: string | undefined): string | undefined {
  const creds = header === undefined ? undefined : basicCredentials(header);
  return creds?.kind === 'given' && creds.username.trim() !== '' ? creds.username : undefined;
}

/** The fields a login form names its user with, in the order they are looked for. */
const FORM_USER_FIELDS = ['username', 'user', 'login', 'email'] as const;

/** The user a parsed login form names (the http layer parses urlencoded and multipart bodies), or undefined. */
export function formUsername(req: LoginRequest): string | undefined {
  if (req.method !== 'POST' || typeof req.body !== 'object' || req.body === null) return undefined;
  const body = req.body as Record<string, unknown>;
  for (const name of FORM_USER_FIELDS) {
    const v = body[name];
    if (typeof v === 'string' && v.trim() !== '') return v;
  }
  return undefined;
}

const fail = (status: number, reason: string): ProviderOutcome => ({
  kind: 'failure',
  failure: { reason, status, message: status === 401 ? 'Authentication Failed' : 'Login failed' },
});

export function createProxyProvider({ profile, config: cfg }: ProviderProfile<ProxyConfig>, services: ProviderServices): Provider {
  const log = getLogger('PROXY PROVIDER');
  const okRegex = cfg.OKRegex ? compileOkRegex(cfg.OKRegex) : undefined;
  const upstream = createUpstream({ target: cfg.TargetHost, timeoutMs: cfg.UpstreamTimeout, maxResponseBytes: cfg.UpstreamMaxResponseBytes });
  const guard = services.bruteForceGuard(profile.ID, cfg.BruteForce, log);
  if (cfg.OKCode === 0 && cfg.OKResponse === '' && cfg.OKRegex === '') {
    // Built once per profile version: one line per load. Any 2xx is a login then (answer.ts failedGate).
    log.warn(`profile "${profile.ID}": only the upstream's status is checked (no OKCode, OKResponse or OKRegex): any 2xx answer logs the user in; set one to say what success looks like`);
  }

  const handle = async (req: LoginRequest): Promise<ProviderOutcome> => {
    const ip = req.clientIp;
    // Any Basic credentials are a password guess at the upstream, whichever source names the user; so is a
    // form post, counted under the name it gives when it gives one (formUsername), else against the address.
    const basicUser = basicUsername(req.header('authorization'));
    const named = basicUser ?? formUsername(req);
    let attempt: LoginAttempt | undefined;
    if (named !== undefined || req.method === 'POST') {
      const admission = await guard.admit(`typed:${named ?? ''}`, ip, { forwardedClient: req.forwardedClient, unnamed: named === undefined });
      if (!admission.allowed) return { kind: 'failure', failure: lockedOut(admission.reason, 'Authentication Failed') };
      attempt = admission.attempt;
    }
    let answer;
    try {
      answer = await upstream.send(req, ip);
    } catch (err) {
      await attempt?.undecided();
      if (err instanceof RequestRefused) return fail(err.status, err.message);
      if (err instanceof UpstreamError) return fail(err.kind === 'timeout' ? 504 : 502, err.message);
      throw err;
    }
    if (answer.status >= 500) {
      // The service failed; it did not judge the password.
      await attempt?.undecided();
      return fail(502, `upstream answered ${answer.status}`);
    }
    const gate = failedGate(cfg, okRegex, answer.status, answer.body);
    if (gate) {
      await attempt?.failed();
      return fail(401, gate);
    }
    const who = whoFrom(cfg, basicUser, answer.body);
    if (!who.ok) {
      await attempt?.undecided();
      return fail(502, who.reason);
    }
    await attempt?.succeeded();
    log.debug('upstream accepted the login', { profile: profile.ID, accessToken: who.accessToken ? 'present' : 'none' });
    return { kind: 'identity', identity: proxyIdentity(who.username, who.accessToken) };
  };

  return {
    start: (req) => handle(req),
    // TIB's callback route for this provider answers nothing at all; here it is the same login.
    callback: (req) => handle(req),
    close: () => upstream.close(),
  };
}
