/**
 * The broker's Express router: health, the admin API and the login routes, with TIB's answers for
 * unknown paths (404 text) and wrong methods (405, empty). Embeddable: a host app can mount it under a
 * prefix (the Tyk portal serves the broker under /tib).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { adminApiRouter } from './admin-api.js';
import { authRouter } from './auth-routes.js';
import { sendError } from './envelope.js';
import type { Logger } from '../log.js';
import type { ProfileStore } from '../profiles/store.js';
import type { ProfileRuntime } from '../runtime.js';

/** What /ready reports: ok, or why not (short, no secrets). */
export type Readiness = { ok: true } | { ok: false; reason: string };

export interface RouterDeps {
  /**
   * Can this replica serve logins (profiles loaded; Redis, when configured, answering)? For load balancers
   * and orchestrators; /health stays TIB's liveness answer. Missing: always ready.
   */
  ready?: () => Promise<Readiness>;
  runtime: ProfileRuntime;
  store: ProfileStore;
  secret: string;
  log: { http: Logger; api: Logger; auth: Logger };
}

/** Headers every answer carries; the login routes add no-store themselves. */
function baseHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set('X-Content-Type-Options', 'nosniff');
  res.set('Referrer-Policy', 'no-referrer');
  next();
}

/** Debug access log without query strings (they may carry codes, states and nonces). */
function accessLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      log.debug('request', { method: req.method, path: req.baseUrl + req.path, statusCode: res.statusCode, durationMs });
    });
    next();
  };
}

export function createRouter(deps: RouterDeps): Router {
  const router = express.Router();
  router.use(baseHeaders, accessLog(deps.log.http));

  router.get('/health', (_req, res) => {
    res.status(200).end();
  });
  router.all('/health', methodNotAllowed);

  router.get('/ready', async (_req, res) => {
    let r: Readiness;
    try {
      r = deps.ready ? await deps.ready() : { ok: true };
    } catch (err) {
      r = { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
    res.set('Cache-Control', 'no-store');
    if (r.ok) res.status(200).type('application/json').send('{"Status":"ok"}');
    else sendError(res, 503, r.reason);
  });
  router.all('/ready', methodNotAllowed);

  router.use('/api', adminApiRouter({ store: deps.store, secret: deps.secret, log: deps.log.api }));
  router.use(authRouter(deps.runtime, deps.log.auth));

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

export function methodNotAllowed(_req: Request, res: Response): void {
  res.status(405).end();
}
