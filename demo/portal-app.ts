/**
 * The demo portal's HTTP side: the endpoints of the Tyk Dashboard and classic Developer Portal that the
 * broker's SSO actions call, answering in Tyk's shapes, and the pages where the browser lands with the nonce.
 * Express and Node only (production dependencies), so it also runs standalone from the broker's image.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { LoggedFailure } from './failures.js';
import { sendPage } from './html.js';
import { homePage, loginFailedPage, nonceProblemPage, signedInPage, type PortalLinks } from './portal-pages.js';
import { parseSsoRequest, PortalStore, type Section, type SsoRequest } from './portal-store.js';

export interface PortalOptions extends PortalLinks {
  /** What `POST /api/sso` and the developer endpoints accept in `Authorization` (the profiles' DashboardCredential). */
  apiSecret: string;
  /** What `POST /admin/sso` accepts in `Admin-Auth`; empty: that endpoint refuses every call. */
  adminSecret: string;
  /** Inside `npm run demo`: the broker's last failed login, which the failure page shows (demo/failures.ts). */
  lastFailure?: () => LoggedFailure | undefined;
}

/** Equal without leaking where they differ (hashes first, so the lengths match). */
function sameSecret(given: string | undefined, expected: string): boolean {
  if (!expected || given === undefined) return false;
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(given), h(expected));
}

// Tyk's envelope for every answer of its admin APIs.
const envelope = (res: Response, status: number, ok: boolean, message: string, meta: unknown = null) => res.status(status).json({ Status: ok ? 'OK' : 'Error', Message: message, Meta: meta });

export function createPortalApp(opts: PortalOptions): { app: express.Express; store: PortalStore } {
  const store = new PortalStore();
  const links: PortalLinks = { landing: opts.landing };
  const app = express();
  app.disable('x-powered-by');
  const json = express.json({ limit: '64kb', type: () => true });
  const apiAuth = (req: Request, res: Response, next: NextFunction) => (sameSecret(req.get('Authorization'), opts.apiSecret) ? next() : envelope(res, 401, false, 'Not authorised'));

  const issue = (via: SsoRequest['via']) => (req: Request, res: Response) => {
    const sso = parseSsoRequest(req.body, via);
    if (!sso) return envelope(res, 400, false, 'Malformed SSO request');
    envelope(res, 200, true, 'SSO Nonce created', store.issue(sso));
  };
  app.post('/api/sso', apiAuth, json, issue('/api/sso'));
  app.post('/admin/sso', (req, res, next) => (sameSecret(req.get('Admin-Auth'), opts.adminSecret) ? next() : envelope(res, 401, false, 'Not authorised')), json, issue('/admin/sso'));

  app.get('/api/portal/developers/ssokey/:key', apiAuth, (req, res) => {
    const dev = store.developers.get(String(req.params.key));
    if (!dev) return envelope(res, 404, false, 'Developer not found');
    res.json(dev);
  });
  app.post('/api/portal/developers', apiAuth, json, (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || typeof body.sso_key !== 'string') return envelope(res, 400, false, 'Malformed developer');
    const id = randomBytes(12).toString('hex');
    store.saveDeveloper({ ...body, id }, 'created');
    envelope(res, 200, true, id);
  });
  app.put('/api/portal/developers/:id', apiAuth, json, (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    const existing = store.developerById(String(req.params.id));
    if (!existing) return envelope(res, 404, false, 'Developer not found');
    if (typeof body !== 'object' || body === null) return envelope(res, 400, false, 'Malformed developer');
    // The developer keeps its id and SSO key, whatever the body says.
    store.saveDeveloper({ ...body, id: existing.id, sso_key: existing.sso_key }, 'updated');
    envelope(res, 200, true, 'Data updated');
  });

  // Where the broker sends the browser (the profiles' ReturnURL): the classic portal's /sso, the Dashboard's /tap.
  const landing = (section: Section) => (req: Request, res: Response) => {
    const nonce = typeof req.query.nonce === 'string' ? req.query.nonce : '';
    const r = store.redeem(nonce, section);
    if (!r.ok) return sendPage(res, 401, nonceProblemPage(r.why, links));
    sendPage(res, 200, signedInPage(r.signIn, req.path, links));
  };
  app.get(['/sso', '/portal/sso', '/portal/sso/'], landing('portal'));
  app.get('/tap', landing('dashboard'));
  app.get('/login-failed', (_req, res) => sendPage(res, 200, loginFailedPage(links, opts.lastFailure?.())));
  app.get('/', (_req, res) => sendPage(res, 200, homePage(store.recent(), links)));
  app.get('/health', (_req, res) => res.status(200).end());
  app.use((_req, res) => envelope(res, 404, false, 'Not found'));
  // A body the client got wrong (bad JSON, too large) is its error; nothing else is expected here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown } | null)?.status;
    envelope(res, typeof status === 'number' && status >= 400 && status < 500 ? status : 500, false, 'Request failed');
  });
  return { app, store };
}
