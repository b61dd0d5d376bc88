/**
 * Logout through to the IdP (issue 21, docs/logout.md), registered before `/auth/:id/:provider`
 * (auth-routes.ts), so no profile's provider segment can shadow it:
 * - `GET /auth/{id}/logout?return_to=`: return_to checked against the allow-list (profiles/logout-keys.ts),
 *   the browser's kept login dropped (once: a second click finds nothing), then the provider's logout
 *   (ProviderLogout.begin) with a `state` whose sealed flow cookie carries return_to;
 * - `ANY /auth/{id}/logout/callback` (OIDC) and `/auth/{id}/saml/slo` (SAML): ProviderLogout.receive; the IdP's
 *   answer goes on to the Tyk step when its state opens this browser's flow cookie, else the failure response;
 *   an IdP's own logout request drops the logins it names and is answered by the provider;
 * - `POST /auth/{id}/backchannel-logout`: ProviderLogout.backchannel (OIDC Back-Channel Logout 1.0 §2.8).
 * The Tyk step: straight to return_to, or with TykLogoutURL a page of ours that requests it in a hidden iframe
 * and then moves on. Logout is off (404, nothing kept at login) unless the provider has `logout` and the
 * profile sets one of the logout keys.
 */
import { createHash, randomBytes } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { ssoKey } from '../actions/key-session.js';
import { noAudit, type AuditLog, type LogoutAuditEvent } from '../audit.js';
import { clientIp, type TrustedProxies } from '../client-ip.js';
import { escapeHtml } from '../html.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../log.js';
import { recordLogout } from '../metrics.js';
import { allowedReturnTo, logoutOn } from '../profiles/logout-keys.js';
import type { LoginFailure, LoginRequest, ProviderLogout, ProviderOutcome } from '../providers/provider.js';
import type { CompiledProfile, ProfileRuntime } from '../runtime.js';
import { cookiePairs } from '../state/cookie-header.js';
import { LoginFlowCookies, profileVersion } from '../state/login-flow-cookie.js';
import type { LoginSession } from '../state/login-sessions.js';
import { sendError } from './envelope.js';
import { sendFailure, sendLoginError, sendPage, sendRedirect } from './respond.js';

/** A kept login lives as long as the IdP's session, at most this long, at least MIN_LIFE_MS. */
const MAX_LIFE_MS = 12 * 3600 * 1000;
const MIN_LIFE_MS = 5 * 60 * 1000;
/** A logout may spend this long at the IdP before its flow cookie expires. */
const FLOW_SECONDS = 300;
/** The Tyk step moves on after this long if the Tyk logout page has not loaded. */
const TYK_STEP_MS = 3000;

export interface LogoutDeps {
  log: Logger;
  audit?: AuditLog;
  trusted: TrustedProxies;
  /** The request as a provider sees it (auth-routes.ts loginRequest). */
  loginRequest(req: Request, res: Response, client: string): LoginRequest;
  /** Form parsers for a logout message posted back (SAML HTTP-POST, a back-channel logout_token). */
  forms: RequestHandler;
}

/** The session cookie of a profile: `tib-session-<short hash of the ID>` (a cookie name cannot hold every ID). */
export function sessionCookieName(profileId: string): string {
  return `tib-session-${createHash('sha256').update(profileId).digest('base64url').slice(0, 10)}`;
}

/** `<base path>/auth/<id>/`: the session and logout cookies reach this profile's routes only. */
function cookiePath(req: Request, profileId: string): string {
  return `${req.baseUrl}/auth/${encodeURIComponent(profileId)}/`;
}

/** The profile's own base URL (ProviderLogout.baseUrl), else this request's scheme and mount: Secure cookies on https. */
function secureFor(logout: ProviderLogout, req: Request): boolean {
  return logout.baseUrl ? logout.baseUrl.startsWith('https:') : req.secure;
}

/** What the logout needs of a compiled profile, when logout is on for it. */
function logoutOf(compiled: CompiledProfile | undefined): ({ logout: ProviderLogout } & CompiledProfile) | undefined {
  const logout = compiled?.provider?.logout;
  if (!compiled || !logout || compiled.setupError || !logoutOn(compiled.profile)) return undefined;
  return { ...compiled, logout };
}

/**
 * At a successful login (auth-routes.ts, after completeLogin): keeps what the IdP's logout needs and sets the
 * session cookie, only for a profile with logout on and an identity that carries a session. Never fails the login.
 */
export async function keepLoginSession(runtime: ProfileRuntime, compiled: CompiledProfile, identity: Identity, req: Request, res: Response, log: Logger): Promise<void> {
  const on = logoutOf(compiled);
  const session = identity.session;
  if (!on || !session) return;
  const now = Date.now();
  const life = Math.max(MIN_LIFE_MS, Math.min(session.expiresAt ?? now + MAX_LIFE_MS, now + MAX_LIFE_MS) - now);
  const profile = compiled.profile.ID;
  try {
    const kept: LoginSession = { ...session, profile, userId: identity.userId, ssoKey: ssoKey(identity), createdAt: now };
    const id = await runtime.providerServices.loginSessions.put(kept, life);
    if (res.headersSent) return;
    res.cookie(sessionCookieName(profile), id, { httpOnly: true, secure: secureFor(on.logout, req), sameSite: 'lax', path: cookiePath(req, profile), maxAge: life, encode: (v) => v });
  } catch (err) {
    // The login stands; its logout will go to the IdP without an id_token_hint.
    log.warn('login not kept for logout: the session store failed', { profile, reason: err instanceof Error ? err.message : String(err) });
  }
}

/** What the flow cookie of a logout carries. */
interface LogoutFlow {
  returnTo: string | null;
  userId?: string;
}

function asLogoutFlow(v: unknown): LogoutFlow | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const f = v as Record<string, unknown>;
  if (f.returnTo !== null && typeof f.returnTo !== 'string') return undefined;
  return { returnTo: f.returnTo, ...(typeof f.userId === 'string' && { userId: f.userId }) };
}

/** The page at the end when the profile allows no return URL: the person is told, nothing else. */
function signedOutPage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body { font-family: system-ui, sans-serif; margin: 2rem; }</style></head>
<body><main><h1>${escapeHtml(title)}</h1><p>You are signed out.</p></main></body>
</html>
`;
}

/**
 * The Tyk step's page: requests TykLogoutURL in a hidden iframe (the Tyk session cookie goes along when the
 * broker and the Tyk UI are same-site) and, on its load or after 3 s, moves to return_to; a visible link for
 * browsers without script. CSP: this page's one script by nonce, frames and images from the Tyk origin only.
 */
export function tykStepPage(tykLogoutUrl: string, returnTo: string, title: string): { html: string; headers: Record<string, string> } {
  const nonce = randomBytes(16).toString('base64');
  const origin = new URL(tykLogoutUrl).origin;
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body { font-family: system-ui, sans-serif; margin: 2rem; } iframe { display: none; }</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<p>Signing you out&hellip;</p>
<p><a id="next" href="${escapeHtml(returnTo)}">Continue</a></p>
<iframe id="tyk" title="Tyk logout" src="${escapeHtml(tykLogoutUrl)}"></iframe>
</main>
<script nonce="${nonce}">
(function () {
  var next = document.getElementById('next').href;
  var go = function () { window.location.replace(next); };
  document.getElementById('tyk').addEventListener('load', go);
  setTimeout(go, ${TYK_STEP_MS});
})();
</script>
</body>
</html>
`;
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; frame-src ${origin}; img-src ${origin}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;
  return { html, headers: { 'Content-Security-Policy': csp, 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer' } };
}

/** The logout routes, on `router` when given (the login routes' own, src/http/auth-routes.ts: one router less per login request). */
export function logoutRouter(runtime: ProfileRuntime, deps: LogoutDeps, router: Router = express.Router()): Router {
  const audit = deps.audit ?? noAudit;
  const { log } = deps;
  const sessions = () => runtime.providerServices.loginSessions;
  const flowCookies = (on: CompiledProfile & { logout: ProviderLogout }, req: Request) =>
    new LoginFlowCookies(
      { secret: runtime.providerServices.sessionSecret, profileId: on.profile.ID, version: `logout:${profileVersion(on.profile)}` },
      // SameSite=None on https: a SAML LogoutResponse comes back by a cross-site POST.
      { secure: secureFor(on.logout, req), sameSiteNone: true, path: cookiePath(req, on.profile.ID), timeoutSeconds: FLOW_SECONDS },
    );
  const ended = (e: LogoutAuditEvent) => {
    recordLogout(e.profile, e.kind, e.outcome);
    audit.logout(e);
  };
  /** The user's Tyk key (token actions) and identity-cache record end with their login (Action.endSession). */
  const endSessions = async (on: CompiledProfile, dropped: readonly LoginSession[]) => {
    for (const s of dropped) {
      if (!s.ssoKey || !on.action?.endSession) continue;
      const r = await on.action.endSession(s.ssoKey).catch((err: unknown) => ({ failure: err instanceof Error ? err.message : String(err) }));
      if ('failure' in r) log.warn("logout: the user's Tyk key could not be deleted", { profile: on.profile.ID, reason: r.failure });
    }
  };
  const title = (c: CompiledProfile) => c.profile.Name || c.profile.ID;
  const notFound = (req: Request, res: Response) => sendLoginError(req, res, 404, 'Not found', 'Sign-out');
  const failed = (req: Request, res: Response, on: CompiledProfile, failure: LoginFailure, kind: LogoutAuditEvent['kind'], client: string) => {
    ended({ profile: on.profile.ID, kind, outcome: failure.status >= 500 ? 'error' : 'refused', reason: failure.reason, client });
    sendFailure(req, res, failure, { profileId: on.profile.ID, profileName: on.profile.Name, failureRedirect: on.failureRedirect, log });
  };
  const send = (res: Response, outcome: Exclude<ProviderOutcome, { kind: 'failure' } | { kind: 'identity' }>) =>
    outcome.kind === 'redirect' ? sendRedirect(res, outcome.url) : sendPage(res, outcome.status, outcome.html, outcome.headers);
  /** The end of every browser logout: the Tyk side's logout, then return_to. */
  const tykStep = (res: Response, on: CompiledProfile, flow: LogoutFlow, client: string) => {
    ended({ profile: on.profile.ID, kind: 'rp', outcome: 'ok', userId: flow.userId, client });
    const tyk = on.profile.TykLogoutURL;
    if (flow.returnTo === null) {
      // Nowhere to go back to: a page of ours that says so (with the Tyk logout, when there is one).
      if (!tyk) return sendPage(res, 200, signedOutPage(title(on)), { 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'" });
    }
    if (!tyk) return sendRedirect(res, flow.returnTo as string);
    const page = tykStepPage(tyk, flow.returnTo ?? tyk, title(on));
    sendPage(res, 200, page.html, page.headers);
  };
  const clientOf = (req: Request) => clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], deps.trusted);

  router.get('/auth/:id/logout', async (req: Request, res: Response) => {
    const on = logoutOf(runtime.get(String(req.params.id)));
    if (!on) return notFound(req, res);
    const profile = on.profile.ID;
    const client = clientOf(req);
    const returnTo = allowedReturnTo(on.profile, req.query.return_to);
    if (returnTo === undefined) {
      // No redirect at all: a 400 page, whatever the profile's FailureRedirect.
      ended({ profile, kind: 'rp', outcome: 'refused', reason: 'return_to is not in LogoutRedirectURLs', client });
      log.warn('logout refused: return_to is not an allowed URL (LogoutRedirectURLs)', { profile, client });
      return sendLoginError(req, res, 400, 'This sign-out link is not allowed', title(on));
    }
    // The kept login is dropped first, so a second click never reuses its id token; its cookie is cleared.
    const name = sessionCookieName(profile);
    const id = cookiePairs(req.headers.cookie).find(([n]) => n === name)?.[1];
    let session: LoginSession | undefined;
    if (id !== undefined) {
      res.clearCookie(name, { httpOnly: true, secure: secureFor(on.logout, req), sameSite: 'lax', path: cookiePath(req, profile) });
      try {
        session = await sessions().drop(profile, id);
      } catch (err) {
        log.warn('logout: the session store failed; the IdP is asked without an id_token_hint', { profile, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    if (session) await endSessions(on, [session]);
    const flow: LogoutFlow = { returnTo, ...(session && { userId: session.userId }) };
    const state = randomBytes(32).toString('base64url');
    const base = on.logout.baseUrl ?? '';
    let outcome: ProviderOutcome | undefined;
    try {
      outcome = await on.logout.begin(session, { state, returnUrl: `${base}/auth/${encodeURIComponent(profile)}/logout/callback` });
    } catch (err) {
      outcome = { kind: 'failure', failure: { reason: `logout failed: ${err instanceof Error ? err.message : String(err)}`, status: 500, message: 'Logout failed' } };
    }
    if (res.headersSent) return;
    if (!outcome) return tykStep(res, on, flow, client);
    if (outcome.kind === 'failure') return failed(req, res, on, outcome.failure, 'rp', client);
    if (outcome.kind === 'identity') return failed(req, res, on, { reason: 'the provider answered a logout with an identity', status: 500, message: 'Logout failed' }, 'rp', client);
    flowCookies(on, req).begin(deps.loginRequest(req, res, client), state, flow);
    send(res, outcome);
  });

  const receive = async (req: Request, res: Response) => {
    const on = logoutOf(runtime.get(String(req.params.id)));
    if (!on) return notFound(req, res);
    const client = clientOf(req);
    const login = deps.loginRequest(req, res, client);
    let received;
    try {
      received = await on.logout.receive(login);
    } catch (err) {
      received = { kind: 'failure' as const, failure: { reason: `logout failed: ${err instanceof Error ? err.message : String(err)}`, status: 500, message: 'Logout failed' } };
    }
    if (res.headersSent) return;
    if (received.kind === 'failure') return failed(req, res, on, received.failure, 'rp', client);
    if (received.kind === 'idp-request') {
      let dropped: LoginSession[];
      try {
        dropped = await sessions().dropMatching(on.profile.ID, received.match);
      } catch (err) {
        return failed(req, res, on, { reason: `IdP logout: the session store failed: ${err instanceof Error ? err.message : String(err)}`, status: 503, message: 'Logout failed' }, 'idp', client);
      }
      await endSessions(on, dropped);
      ended({ profile: on.profile.ID, kind: 'idp', outcome: 'ok', sessions: dropped.length, ...(dropped[0] && { userId: dropped[0].userId }), client });
      const answer = await received.respond();
      if (res.headersSent) return;
      if (answer.kind === 'failure') return sendFailure(req, res, answer.failure, { profileId: on.profile.ID, profileName: on.profile.Name, failureRedirect: on.failureRedirect, log });
      if (answer.kind === 'identity') return sendError(res, 500, 'Logout failed');
      return send(res, answer);
    }
    // The IdP's answer to our logout: this browser's flow cookie under its state, else a forged or stale answer.
    const opened = received.state.length > 0 && received.state.length <= 512 ? flowCookies(on, req).finish(login, received.state) : undefined;
    const flow = asLogoutFlow(opened?.flow);
    if (!flow) {
      return failed(req, res, on, { reason: 'logout answer with an unknown, expired or already used state, or another browser\'s', status: 400, message: 'Logout failed', class: 'state_invalid' }, 'rp', client);
    }
    tykStep(res, on, flow, client);
  };
  router.all('/auth/:id/logout/callback', deps.forms, receive);
  router.all('/auth/:id/saml/slo', deps.forms, receive);

  router.post('/auth/:id/backchannel-logout', deps.forms, async (req: Request, res: Response) => {
    const compiled = runtime.get(String(req.params.id));
    const on = logoutOf(compiled);
    const check = on?.logout.backchannel?.bind(on.logout);
    if (!on || !check || on.profile.BackChannelLogout !== true) return sendError(res, 404, 'Not found');
    const client = clientOf(req);
    res.set('Cache-Control', 'no-store');
    const refuse = (description: string) => {
      ended({ profile: on.profile.ID, kind: 'backchannel', outcome: 'refused', reason: description, client });
      res.status(400).json({ error: 'invalid_request', error_description: description });
    };
    const body = req.body as Record<string, unknown> | undefined;
    const token = body && typeof body.logout_token === 'string' ? body.logout_token : '';
    if (!token) return refuse('logout_token is required (application/x-www-form-urlencoded)');
    let verdict;
    try {
      verdict = await check(token);
    } catch (err) {
      verdict = { error: `logout_token could not be checked: ${err instanceof Error ? err.message : String(err)}` };
    }
    if ('error' in verdict) return refuse(verdict.error);
    let dropped: LoginSession[];
    try {
      dropped = await sessions().dropMatching(on.profile.ID, verdict.match);
    } catch (err) {
      ended({ profile: on.profile.ID, kind: 'backchannel', outcome: 'error', reason: err instanceof Error ? err.message : String(err), client });
      return res.status(503).json({ error: 'temporarily_unavailable', error_description: 'the session store failed' });
    }
    await endSessions(on, dropped);
    ended({ profile: on.profile.ID, kind: 'backchannel', outcome: 'ok', sessions: dropped.length, ...(dropped[0] && { userId: dropped[0].userId }), client });
    res.status(200).end();
  });
  return router;
}
