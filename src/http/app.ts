/**
 * The broker's Express router: health, the admin API and the login routes, with TIB's answers for
 * unknown paths (404 text) and wrong methods (405, empty). Embeddable: a host app can mount it under a
 * prefix (the Tyk portal serves the broker under /tib).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AuditLog } from '../audit.js';
import { adminApiRouter } from './admin-api.js';
import { adminAudit } from './admin-audit.js';
import { syncApiRouter, type SyncApi } from './sync-api.js';
import { scimRouter, type ScimApiDeps } from './scim.js';
import { authRouter } from './auth-routes.js';
import { LoginStartLimit } from './login-start-limit.js';
import type { Drain } from './drain.js';
import { TrustedProxies } from '../client-ip.js';
import { sendError } from './envelope.js';
import { metricsRoute, type MetricsAccess } from './metrics-route.js';
import { rootPage } from './root-page.js';
import { logsAt, type Logger } from '../log.js';
import { buildInfo, recordHttpRequest, secondsSince, UNMATCHED_ROUTE } from '../metrics.js';
import { requestId } from './request-id.js';
import type { ProfileStore } from '../profiles/store.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ProfileRuntime } from '../runtime.js';
import type { PortalCheckDeps } from '../portal/check.js';

/** What /ready reports: ok, or why not (short, no secrets). */
export type Readiness = { ok: true } | { ok: false; reason: string };

export interface RouterDeps {
  /**
   * Can this replica serve logins (profiles loaded; Redis, when configured, answering)? For load balancers
   * and orchestrators; /health stays TIB's liveness answer. Missing: always ready.
   */
  ready?: () => Promise<Readiness>;
  runtime: ProfileRuntime;
  /** The providers profiles may use (explain asks their modules). */
  providers: ProviderRegistry;
  store: ProfileStore;
  secret: string;
  log: { http: Logger; api: Logger; auth: Logger };
  /** The audit log of logins and admin-API changes (none when missing). */
  audit?: AuditLog;
  /** tib.conf TrustedProxies, for the client address in the audit log. */
  trustedProxies?: TrustedProxies;
  /** tib.conf LoginStartsPerMinute: redirect-login starts per client address and minute; missing or 0: no limit. */
  loginStartsPerMinute?: number;
  /**
   * `/metrics` on this router: 'secret' (the admin Secret, as the admin API; the default) or 'off' (when a
   * management listener serves it instead).
   */
  metrics?: MetricsAccess;
  /** The Tyk targets, client and portal directories: the admin API resolves portal teams (src/portal/check.ts). */
  portal?: PortalCheckDeps;
  /** Directory sync (src/sync/runner.ts): `/api/sync/{profile}` (none when missing). */
  sync?: SyncApi;
  /** SCIM 2.0 inbound (src/http/scim.ts): `/scim/v2/{profile}`, authenticated by each profile's token (none when missing). */
  scim?: ScimApiDeps;
}

/**
 * Headers every answer carries, here and on the probes answered before Express (probes.ts); the login routes
 * add no-store themselves. The framing ban is a default: a page that sets its own Content-Security-Policy
 * (the password login form, SAML's POST page) replaces it.
 */
export const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "frame-ancestors 'none'",
});
const BASE_HEADER_ENTRIES = Object.entries(BASE_HEADERS);

export function baseHeaders(_req: Request, res: Response, next: NextFunction): void {
  // setHeader, not res.set: plain values, and res.set's Content-Type and array handling shows on every request.
  for (const [name, value] of BASE_HEADER_ENTRIES) res.setHeader(name, value);
  // Also under a host application that left Express's banner on: the broker's answers do not name their stack.
  res.removeHeader('X-Powered-By');
  next();
}

/** Debug access log without query strings (they may carry codes, states and nonces); free at other levels. */
function accessLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!logsAt('debug')) return next();
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      log.debug('request', { method: req.method, path: req.baseUrl + req.path, statusCode: res.statusCode, durationMs });
    });
    next();
  };
}

/**
 * The route template a request was answered by, for the HTTP metrics' `route` label: the declared path
 * (`/auth/:id/:provider`), never the client's, below the broker's own mount points (`/api`); `/api/*` for an
 * answer from the admin API's middleware (its 401s), UNMATCHED_ROUTE for a request no route took.
 */
function routeLabel(req: Request, mount: string): string {
  // Below a host application's prefix (`mount`), only this router's own fixed mount paths remain; SCIM's mount
  // holds the profile the client named, which never becomes a label (any value would be a new series).
  const below = req.baseUrl.slice(mount.length).toLowerCase().replace(/^\/scim\/v2\/[^/]*/, '/scim/v2/:profile');
  const declared: unknown = (req.route as { path?: unknown } | undefined)?.path;
  const path = typeof declared === 'string' ? declared : Array.isArray(declared) ? declared.join('|') : undefined;
  if (path === undefined) return below === '' ? UNMATCHED_ROUTE : `${below}/*`;
  // An error handler mounted at `/auth` after the route `/auth/:id/:provider` matched: the template already says it.
  return path.startsWith(`${below}/`) ? path : below + path;
}

/** HTTP request metrics (src/metrics.ts recordHttpRequest), recorded when each answer has been sent. */
function httpMetrics(req: Request, res: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  const mount = req.baseUrl;
  res.once('finish', () => recordHttpRequest(routeLabel(req, mount), req.method, res.statusCode, secondsSince(started)));
  next();
}

/** `GET /version`: the build (src/metrics.ts buildInfo), as Keycloak's and Dex's version endpoints; no secret. */
export function versionRoute(router: Router): void {
  router.get('/version', (_req, res) => {
    res.status(200).json(buildInfo());
  });
  router.all('/version', methodNotAllowed);
}

export function createRouter(deps: RouterDeps): Router {
  const router = express.Router();
  const trustedProxies = deps.trustedProxies ?? new TrustedProxies([]);
  router.use(baseHeaders, requestId(trustedProxies), httpMetrics, accessLog(deps.log.http));
  // The logins first: each layer before them is matched against every login request (all of them are below
  // /auth/, which nothing else here serves; docs/performance.md, "Memory per login").
  // The redirect logins (the login cookie's providers, as the registry knows them) are the ones anyone can start.
  const loginStarts = { limit: new LoginStartLimit(deps.loginStartsPerMinute ?? 0), providers: deps.providers.cookieProviders };
  router.use(authRouter(deps.runtime, deps.log.auth, { audit: deps.audit, trustedProxies, loginStarts }));

  probeRoutes(router, deps.ready);
  versionRoute(router);
  router.all('/metrics', metricsRoute(deps.metrics ?? 'secret', deps.secret));

  router.use('/api', adminAudit(deps.audit, trustedProxies), adminApiRouter({ store: deps.store, secret: deps.secret, log: deps.log.api, providers: deps.providers, trustedProxies, portal: deps.portal }));
  // Behind the admin API's router: its middleware has checked the Secret (and throttles failures) for all of /api.
  if (deps.sync) router.use('/api', syncApiRouter(deps.sync, deps.log.api));
  // Not behind the admin Secret: the IdP authenticates with the profile's own SCIM token.
  if (deps.scim) router.use('/scim/v2/:profile', scimRouter({ trustedProxies, ...deps.scim }));
  // No demo in front: `/` says what this is and where the docs are, instead of a bare 404.
  router.get('/', rootPage);

  // gorilla/mux's answer for a path no route matches.
  router.use((_req, res) => {
    res.status(404).type('text/plain; charset=utf-8').send('404 page not found\n');
  });
  // Anything thrown and not handled closer: a clean 500 envelope, logged without request data.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    deps.log.http.error('unhandled error', { path: req.baseUrl + req.path, reason: err instanceof Error ? err.message : String(err) });
    if (!res.headersSent) res.status(500).type('application/json').send('{"Status":"error","Error":"Internal error"}');
  });
  return router;
}

/** `/health` (TIB's liveness answer) and `/ready`, on the main router and the management listener. */
export function probeRoutes(router: Router, ready: RouterDeps['ready']): void {
  router.get('/health', (_req, res) => {
    res.status(200).end();
  });
  router.all('/health', methodNotAllowed);

  router.get('/ready', async (_req, res) => {
    let r: Readiness;
    try {
      r = ready ? await ready() : { ok: true };
    } catch (err) {
      r = { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
    res.set('Cache-Control', 'no-store');
    if (r.ok) res.status(200).type('application/json').send('{"Status":"ok"}');
    else sendError(res, 503, r.reason);
  });
  router.all('/ready', methodNotAllowed);
}

export function methodNotAllowed(_req: Request, res: Response): void {
  res.status(405).end();
}

export type { Router } from 'express';

/** The router behind a count of the requests in flight, so a stop can wait for them whoever serves it. */
export function drained(inner: Router, drain: Drain): Router {
  const router = express.Router();
  router.use(drain.track);
  router.use(inner);
  return router;
}

/** An app serving the router alone: the broker's own listener (src/server.ts). */
export function standaloneApp(router: Router): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(router);
  return app;
}
