/**
 * TIB's profile API (docs/tib-behaviour.md §2): routes, status codes, envelopes and messages as TIB, plus what TIB lacks:
 * constant-time secret comparison, an empty Secret disabling the API instead of opening it, validation of
 * every write, and an audit line per change.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { clientIp, TrustedProxies } from '../client-ip.js';
import type { Logger } from '../log.js';
import { explainClaims } from '../login/explain.js';
import type { Explanation } from '../identity/explain.js';
import { checkProfileTeams, describeTeamProblem, type PortalCheckDeps } from '../portal/check.js';
import { explainPortal, type PortalView } from '../portal/explain.js';
import { ClaimsError } from '../providers/module.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { FieldReader, isPlainObject } from '../profiles/fields.js';
import { StoreError, type ProfileStore } from '../profiles/store.js';
import type { Profile } from '../profiles/profile.js';
import { validateProfile, type ProfileProblem } from '../profiles/validate.js';
import { goJson, sendError, sendOk } from './envelope.js';
import { writeFailureReason } from './write-failure.js';

export interface AdminApiDeps {
  store: ProfileStore;
  secret: string;
  log: Logger;
  /** The providers profiles may use (explain asks their modules). */
  providers: ProviderRegistry;
  /** Milliseconds now; injectable for the failed-authentication rate limit's tests. */
  now?: () => number;
  /** Whose X-Forwarded-For names the client (TrustedProxies): failures are counted per client, not per balancer. */
  trustedProxies?: TrustedProxies;
  /**
   * tib.conf's Tyk targets and the Tyk client: portal profiles' teams are resolved before a write, and explain's
   * `?portal=true` reads the portal (neither when missing).
   */
  portal?: PortalCheckDeps;
}

/** One warning per source address per minute at most, whatever an attacker sends. */
const FAILURE_WINDOW_MS = 60_000;
/** Sources tracked at once; beyond that, failures share one bucket so memory and log lines stay bounded. */
const MAX_SOURCES = 1000;
/** Failures from one source within a window after which it is answered 429 until the window ends. */
export const FAILURES_BEFORE_THROTTLE = 10;
/** The shared bucket beyond MAX_SOURCES: never throttled, or many addresses could lock out every new one. */
const OTHER = 'other addresses';

export interface FailedAuthTable {
  /** Records a failed authentication from `remote` (logged at warn, rate-limited; `fields` join the window's first line). */
  (remote: string, fields?: Record<string, unknown>): void;
  /** Seconds until `remote` may try again, when it failed FAILURES_BEFORE_THROTTLE times in this window. */
  throttled(remote: string): number | undefined;
}

/**
 * Failed admin authentications per source, in one bounded table: logged at warn with the source address,
 * rate-limited (the first failure of a window is logged; the others are counted and their count logged
 * when the window ends, by an unref'd timer, or with the next failure if that comes first), and a source
 * that keeps failing is throttled until its window ends. The header given is never logged. `what` names the
 * API in the log lines: the SCIM API (src/http/scim.ts) counts its bad tokens with one of these too.
 */
export function failedAuthLogger(log: Logger, now: () => number = Date.now, windowMs = FAILURE_WINDOW_MS, what = 'admin API'): FailedAuthTable {
  const sources = new Map<string, { since: number; failures: number; suppressed: number; timer: NodeJS.Timeout }>();
  const open = (remote: string) => {
    const seen = sources.get(remote);
    return seen && now() - seen.since < windowMs ? seen : undefined;
  };
  const record = (remote: string, fields?: Record<string, unknown>) => {
    const t = now();
    if (!sources.has(remote) && sources.size >= MAX_SOURCES) {
      for (const [k, v] of sources) if (t - v.since >= windowMs) end(k);
      if (sources.size >= MAX_SOURCES) remote = OTHER;
    }
    const current = open(remote);
    if (current) {
      current.failures++;
      current.suppressed++;
      return;
    }
    const earlier = sources.get(remote)?.suppressed ?? 0;
    log.warn(`${what} authentication failed${earlier > 0 ? ` (and ${earlier} more from this source in the minute before, not logged)` : ''}`, { ...fields, remote });
    clearTimeout(sources.get(remote)?.timer);
    // Re-inserted, so the map's order stays oldest window first.
    sources.delete(remote);
    const timer = setTimeout(() => end(remote), windowMs);
    timer.unref();
    sources.set(remote, { since: t, failures: 1, suppressed: 0, timer });
  };
  /** The window is over: its suppressed count is logged now rather than at the source's next failure. */
  const end = (remote: string) => {
    const seen = sources.get(remote);
    if (!seen) return;
    clearTimeout(seen.timer);
    sources.delete(remote);
    if (seen.suppressed > 0) log.warn(`${what} authentication failed ${seen.suppressed} more times from this source in the last minute, not logged one by one`, { remote });
  };
  return Object.assign(record, {
    throttled(remote: string) {
      const seen = remote === OTHER ? undefined : open(remote);
      if (!seen || seen.failures < FAILURES_BEFORE_THROTTLE) return undefined;
      return Math.max(1, Math.ceil((seen.since + windowMs - now()) / 1000));
    },
  });
}

/** Compares HMACs of both values, so neither the length nor the content leaks through timing. */
function secretMatcher(secret: string): (given: string | undefined) => boolean {
  const key = randomBytes(32);
  const digest = (v: string) => createHmac('sha256', key).update(v).digest();
  const expected = digest(secret);
  return (given) => secret !== '' && given !== undefined && timingSafeEqual(digest(given), expected);
}

export function adminApiRouter(deps: AdminApiDeps): Router {
  const { store, log } = deps;
  const authorised = secretMatcher(deps.secret);
  const failedAuth = failedAuthLogger(log, deps.now);
  const trusted = deps.trustedProxies ?? new TrustedProxies([]);
  // strict: "/profiles/" must not match "/profiles" (gorilla/mux has no StrictSlash either); case-sensitive
  // as gorilla/mux: POST /profiles/Save creates a profile "Save", only /profiles/save saves.
  const router = express.Router({ strict: true, caseSensitive: true });
  const body = express.text({ type: () => true, limit: '1mb' });

  router.use((req, res, next) => {
    // Every answer, errors included: profiles carry secrets, and no cache or proxy may keep them.
    res.set('Cache-Control', 'no-store');
    res.set('Pragma', 'no-cache');
    const remote = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted);
    // Checked before the secret: a source guessing it gets FAILURES_BEFORE_THROTTLE tries a minute, then waits.
    const wait = deps.secret !== '' ? failedAuth.throttled(remote) : undefined;
    if (wait !== undefined) {
      failedAuth(remote);
      res.set('Retry-After', String(wait));
      return sendError(res, 429, 'Too many failed authentications from this address; retry later');
    }
    if (!authorised(req.get('Authorization'))) {
      if (deps.secret !== '') failedAuth(remote);
      return sendError(res, 401, 'Authorization failed');
    }
    next();
  });

  const audit = (req: Request, action: string, id: string) => log.info(`profile ${action}`, { profile: id, remote: req.ip ?? '' });

  /**
   * The "did you mean" warnings of each profile written here (an ignored `UserGroupMaping` sends everyone to
   * the default team), by stored object: a reload that replaces the profile forgets them. Explain repeats them.
   */
  const written = new WeakMap<Profile, string[]>();
  const asText = (list: readonly ProfileProblem[]) => list.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message));
  /** A profile's warnings: those of its write, or what its stored form still shows (ProviderConfig keeps its keys). */
  const warningsOf = (p: Profile) => written.get(p) ?? asText(validateProfile(p, { index: 0, rules: store.rules }).warnings);

  /** TIB's envelope, plus `Warnings` when there are any (so an answer without warnings is TIB's, byte for byte). */
  const sendStored = (req: Request, res: Response, status: number, action: string, stored: Profile, warnings: string[]) => {
    audit(req, action, stored.ID);
    if (warnings.length === 0) return sendOk(res, status, stored.ID, stored);
    written.set(stored, warnings);
    for (const w of warnings) log.warn(`profile ${action} with a warning: ${w}`, { profile: stored.ID, remote: req.ip ?? '' });
    res.status(status).type('application/json').send(goJson({ Status: 'ok', ID: stored.ID, Data: stored, Warnings: warnings }));
  };

  /** The decoded body, or undefined after answering 400 as TIB. */
  const decode = (req: Request, res: Response): Record<string, unknown> | undefined => {
    try {
      const parsed: unknown = JSON.parse(typeof req.body === 'string' ? req.body : '');
      if (isPlainObject(parsed)) return parsed;
    } catch {
      // falls through to TIB's message
    }
    sendError(res, 400, 'Failed to decode body data');
    return undefined;
  };

  /** Checks the ID against the URL and validates; answers 400 and returns undefined on failure. */
  const checked = (res: Response, raw: Record<string, unknown>, id: string, then: 'exists' | 'missing') => {
    if (new FieldReader(raw, '', []).string('ID') !== id) return void sendError(res, 400, 'Object ID and URI resource ID do not match');
    if (then === 'exists' && store.get(id)) return void sendError(res, 400, 'Object ID already exists');
    if (then === 'missing' && !store.get(id)) return void sendError(res, 404, 'Object ID does not exist, operation not permitted');
    const v = validateProfile(raw, { index: 0, rules: store.rules });
    if (!v.profile) {
      return void sendError(res, 400, `invalid profile: ${asText(v.problems).join('; ')}`);
    }
    return { profile: v.profile, warnings: asText(v.warnings) };
  };

  /**
   * A portal profile's teams resolved against its portal before it is written (src/portal/check.ts, the same
   * check as `identity-broker portal check`): an unknown team refuses the write as the other validation errors
   * do; a portal that cannot be asked lets it through with a warning. False once answered.
   */
  const portalTeamsKnown = async (res: Response, p: Profile, warnings: string[]): Promise<boolean> => {
    if (!deps.portal) return true;
    const c = await checkProfileTeams(p, deps.portal);
    if (c.kind === 'checked' && c.problems.length > 0) {
      sendError(res, 400, `invalid profile: ${c.problems.map(describeTeamProblem).join('; ')}`);
      return false;
    }
    if (c.kind === 'unreachable') warnings.push(`portal teams not checked: the portal at ${c.portal} cannot be asked (${c.reason}); run \`identity-broker portal check\` once it answers`);
    return true;
  };

  const storeFailure = (res: Response, err: unknown) => {
    if (!(err instanceof StoreError)) throw err;
    if (err.kind === 'flush') {
      log.error('writing the profiles file failed; nothing was changed', { reason: err.message });
      // The reason, not just TIB's "flush failed" (which it starts with): the operator can act on it.
      return sendError(res, 400, writeFailureReason(err.message));
    }
    sendError(res, err.kind === 'exists' ? 400 : 404, err.message);
  };

  router.get('/profiles', (_req, res) => sendOk(res, 200, '', store.list()));

  router.post('/profiles/save', async (req, res) => {
    try {
      await store.flush();
      audit(req, 'set saved to disk', 'save');
      sendOk(res, 200, 'save', {});
    } catch (err) {
      storeFailure(res, err);
    }
  });

  router.get('/profiles/:id', (req, res) => {
    const p = store.get(req.params.id);
    if (!p) return sendError(res, 404, 'Profile not found');
    sendOk(res, 200, req.params.id, p);
  });

  router.post('/profiles/:id', body, async (req, res) => {
    const raw = decode(req, res);
    const v = raw && checked(res, raw, req.params.id, 'exists');
    if (!v || !(await portalTeamsKnown(res, v.profile, v.warnings))) return;
    try {
      // Its provider's stack first (registry.ts prepare): the profile is live when the write is answered.
      await deps.providers.prepare([v.profile]);
      sendStored(req, res, 201, 'created', await store.create(v.profile), v.warnings);
    } catch (err) {
      storeFailure(res, err);
    }
  });

  router.put('/profiles/:id', body, async (req, res) => {
    const raw = decode(req, res);
    const v = raw && checked(res, raw, req.params.id, 'missing');
    if (!v || !(await portalTeamsKnown(res, v.profile, v.warnings))) return;
    try {
      // Its provider's stack first (registry.ts prepare): the profile is live when the write is answered.
      await deps.providers.prepare([v.profile]);
      sendStored(req, res, 200, 'updated', await store.update(v.profile), v.warnings);
    } catch (err) {
      storeFailure(res, err);
    }
  });

  router.delete('/profiles/:id', async (req, res) => {
    try {
      await store.remove(req.params.id);
      audit(req, 'deleted', req.params.id);
      sendOk(res, 200, req.params.id, {});
    } catch (err) {
      storeFailure(res, err);
    }
  });

  // Ours: what this profile would make of a set of claims or LDAP attributes (nothing is changed; only ?portal=true reads the portal).
  router.post('/profiles/:id/explain', body, async (req, res) => {
    const p = store.get(req.params.id);
    if (!p) return sendError(res, 404, 'Profile not found');
    const claims = decode(req, res);
    if (!claims) return;
    const username = typeof req.query.username === 'string' ? req.query.username : '';
    try {
      let explanation: Explanation & { portal?: PortalView } = explainClaims(deps.providers, p, claims, username);
      // ?portal=true: the portal's view in "idp" membership (src/portal/explain.ts, read only: GET calls alone).
      if (req.query.portal === 'true' && deps.portal) {
        const portal = await explainPortal(p, explanation, deps.portal);
        if (portal) explanation = { ...explanation, portal };
      }
      // The profile's own warnings with it: an ignored key may be why the teams are not the expected ones.
      const warnings = [...warningsOf(p), ...(req.query.portal === 'true' && !deps.portal ? ['portal=true: this admin API has no portal client, the portal was not asked'] : [])];
      if (warnings.length === 0) return sendOk(res, 200, p.ID, explanation);
      res.status(200).type('application/json').send(goJson({ Status: 'ok', ID: p.ID, Data: explanation, Warnings: warnings }));
    } catch (err) {
      if (!(err instanceof ClaimsError)) throw err;
      sendError(res, 400, err.message);
    }
  });

  // A known path with another method: 405 with an empty body, as gorilla/mux.
  router.all(['/profiles', '/profiles/:id', '/profiles/:id/explain'], (_req, res) => {
    res.status(405).end();
  });
  // An oversized or unreadable body (body-parser's errors are http-errors marked `expose` with a 4xx
  // status). Anything else is our fault, not the client's: on to the logged 500 handler.
  router.use((err: unknown, _req: Request, res: Response, next: (e: unknown) => void) => {
    const e = typeof err === 'object' && err !== null ? (err as { expose?: unknown; status?: unknown }) : {};
    const fromBody = e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500;
    if (res.headersSent || !fromBody) return next(err);
    const status = e.status === 413 ? 413 : 400;
    sendError(res, status, status === 413 ? 'Request body too large' : 'Invalid request data');
  });
  return router;
}
