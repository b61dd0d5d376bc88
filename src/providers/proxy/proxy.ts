/**
 * ProxyProvider: the login request is passed on to an existing HTTP login service (TargetHost) and its
 * answer decides (docs/tib-behaviour.md §4.3). The upstream's answer is never relayed to the client. A login that carries Basic
 * credentials goes through the brute-force guard first, as LDAP logins do: past the limit, the upstream is
 * not asked. Failures: 401 when the upstream refused, 502 when it failed or answered unusably, 504 when it
 * timed out; TIB answers 401 "Authentication Failed" to all of them.
 */
import type { Request } from 'express';
import { clientIp, TrustedProxies } from '../../client-ip.js';
import { getLogger } from '../../log.js';
import type { LoginAttempt } from '../../state/brute-force.js';
import { bruteForceGuard } from '../brute-force.js';
import type { Profile } from '../../profiles/profile.js';
import { parseProviderConfig } from '../config.js';
import type { Provider, ProviderDeps, ProviderOutcome } from '../provider.js';
import { failedGate, proxyIdentity, whoFrom } from './answer.js';
import { compileOkRegex } from './proxy-config.js';
import { createUpstream, RequestRefused, UpstreamError } from './upstream.js';

/** The user of a Basic Authorization header, or undefined (no header, another scheme, blank user). */
export function basicUsername(header: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? '' : decoded.slice(0, colon);
  return user.trim() === '' ? undefined : user;
}

const fail = (status: number, reason: string): ProviderOutcome => ({
  kind: 'failure',
  failure: { reason, status, message: status === 401 ? 'Authentication Failed' : 'Login failed' },
});

export function createProxyProvider(profile: Profile, deps: ProviderDeps): Provider {
  const { config: cfg } = parseProviderConfig('ProxyProvider', profile.ProviderConfig);
  const log = getLogger('PROXY PROVIDER');
  const okRegex = cfg.OKRegex ? compileOkRegex(cfg.OKRegex) : undefined;
  const upstream = createUpstream({ target: cfg.TargetHost, timeoutMs: cfg.UpstreamTimeout, maxResponseBytes: cfg.UpstreamMaxResponseBytes });
  const guard = bruteForceGuard(profile.ID, cfg.BruteForce, deps, log);
  const trustedProxies = new TrustedProxies(deps.config.TrustedProxies);

  const handle = async (req: Request): Promise<ProviderOutcome> => {
    const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustedProxies);
    // Any Basic credentials are a password guess at the upstream, whichever source names the user.
    const basicUser = basicUsername(req.get('authorization'));
    let attempt: LoginAttempt | undefined;
    if (basicUser !== undefined) {
      const admission = await guard.admit(basicUser, ip);
      if (!admission.allowed) return fail(401, admission.reason);
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
