/**
 * The demo portal's HTTP side: the endpoints of the Tyk Dashboard and classic Developer Portal that the
 * broker's SSO actions call, answering in Tyk's shapes, the subset of the Developer Portal's admin API
 * (`/portal-api`) the broker's "idp" membership uses, and the pages where the browser lands with the nonce.
 * Express and Node only (production dependencies), so it also runs standalone from the broker's image.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { LoggedFailure } from './failures.js';
import { sendPage } from './html.js';
import { homePage, loginFailedPage, nonceProblemPage, signedInPage, type PortalLinks } from './portal-pages.js';
import { parseSsoRequest, PortalAccounts, PortalStore, type PortalAccount, type Section, type SsoRequest } from './portal-store.js';

export interface PortalOptions extends PortalLinks {
  /** What `POST /api/sso` and the developer endpoints accept in `Authorization` (the profiles' DashboardCredential). */
  apiSecret: string;
  /** What `POST /admin/sso` accepts in `Admin-Auth`; empty: that endpoint refuses every call. */
  adminSecret: string;
  /** What `/portal-api` accepts in `Authorization` (tib.conf PortalAPIConfig.AdminToken); empty or absent: it refuses every call. */
  adminToken?: string;
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

export function createPortalApp(opts: PortalOptions): { app: express.Express; store: PortalStore; accounts: PortalAccounts } {
  const store = new PortalStore();
  const accounts = new PortalAccounts();
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

  app.use('/portal-api', adminApi(accounts, opts.adminToken ?? ''));

  // Where the broker sends the browser (the profiles' ReturnURL): the classic portal's /sso, the Dashboard's /tap.
  const landing = (section: Section) => (req: Request, res: Response) => {
    const nonce = typeof req.query.nonce === 'string' ? req.query.nonce : '';
    const r = store.redeem(nonce, section);
    if (!r.ok) return sendPage(res, 401, nonceProblemPage(r.why, links));
    // The portal logs the person into their account (found by email, or made as the real portal makes one).
    const account = section === 'portal' ? accounts.signIn(r.signIn.email, r.signIn.displayName, r.signIn.groupId) : undefined;
    sendPage(res, 200, signedInPage(r.signIn, req.path, links, account && { account, accounts }));
  };
  app.get(['/sso', '/portal/sso', '/portal/sso/'], landing('portal'));
  app.get('/tap', landing('dashboard'));
  app.get('/login-failed', (_req, res) => sendPage(res, 200, loginFailedPage(links, opts.lastFailure?.())));
  app.get('/', (_req, res) => sendPage(res, 200, homePage(store.recent(), links, accounts)));
  app.get('/health', (_req, res) => res.status(200).end());
  app.use((_req, res) => envelope(res, 404, false, 'Not found'));
  // A body the client got wrong (bad JSON, too large) is its error; nothing else is expected here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown } | null)?.status;
    envelope(res, typeof status === 'number' && status >= 400 && status < 500 ? status : 500, false, 'Request failed');
  });
  return { app, store, accounts };
}

/**
 * A positive integer query parameter (the document's PaginationP*Param), or undefined when it is not one. A number
 * too: an OpenAPI validator in front (the demo test's contract check) has already coerced it.
 */
function positive(v: unknown, fallback: number): number | undefined {
  if (v === undefined || v === '') return fallback;
  const n = typeof v === 'string' && /^[1-9]\d{0,5}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * The admin API subset the broker's "idp" membership calls, in the shapes of
 * test/support/contracts/tyk-portal-api-1.14.0.yaml: User-index-elem, User-show, Organisation-index-elem,
 * Team-index-elem, and errors as OnlyErrors (`{"errors": [...]}`). The test fixture that is checked against
 * that document is test/support/portal-stub.ts; this one only has to serve the demo.
 */
function adminApi(accounts: PortalAccounts, adminToken: string): express.Router {
  const api = express.Router();
  const errors = (res: Response, status: number, message: string) => res.status(status).json({ errors: [message] });
  api.use((req, res, next) => (sameSecret(req.get('Authorization'), adminToken) ? next() : errors(res, 401, 'Not authorised')));
  api.use(express.json({ limit: '64kb' }));

  const indexElem = (a: PortalAccount) => ({ ID: a.ID, Email: a.Email, First: a.First, Last: a.Last, Active: a.Active, OrganisationID: a.OrganisationID, Role: a.Role, Provider: a.Provider });
  const show = (a: PortalAccount) => ({
    ...indexElem(a),
    Organisation: accounts.orgName(a.OrganisationID),
    ResetPassword: false,
    Teams: a.Teams.map((id) => ({ ID: id, Name: accounts.teams.get(id)?.Name ?? '', CreatedAt: accounts.seededAt, UpdatedAt: accounts.seededAt, Users: accounts.list().filter((u) => u.Teams.includes(id)).map((u) => String(u.ID)) })),
    CreatedAt: a.CreatedAt,
    UpdatedAt: a.UpdatedAt,
  });
  const paged = <T>(req: Request, res: Response, items: T[]) => {
    const perPage = positive(req.query.per_page, 20);
    const page = positive(req.query.page, 1);
    if (perPage === undefined || page === undefined) return errors(res, 422, 'page and per_page must be positive integers');
    res.json(items.slice((page - 1) * perPage, page * perPage));
  };
  const userId = (req: Request) => (/^\d{1,9}$/.test(String(req.params.id)) ? Number(req.params.id) : -1);
  const body = (req: Request) => (typeof req.body === 'object' && req.body !== null && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {});
  const via = (req: Request) => `${req.method} /portal-api${req.path}`;

  api.get('/users', (req, res) => paged(req, res, accounts.list().map(indexElem)));
  api.post('/users', (req, res) => {
    const r = accounts.create(body(req), via(req));
    if (!r.ok) return errors(res, r.status, r.error);
    res.json(show(r.account));
  });
  api.get('/users/:id', (req, res) => {
    const a = accounts.get(userId(req));
    if (!a) return errors(res, 404, 'User not found');
    res.json(show(a));
  });
  api.put('/users/:id', (req, res) => {
    const r = accounts.update(userId(req), body(req), via(req));
    if (!r.ok) return errors(res, r.status, r.error);
    res.json(show(r.account));
  });
  api.delete('/users/:id', (req, res) => (accounts.delete(userId(req), via(req)) ? res.json({ status: 'ok' }) : errors(res, 404, 'User not found')));
  api.get('/organisations', (req, res) => paged(req, res, [...accounts.organisations.values()]));
  api.get('/organisations/:id/teams', (req, res) => {
    const org = accounts.organisations.get(Number(req.params.id));
    if (!org) return errors(res, 404, 'Organisation not found');
    paged(req, res, [...accounts.teams.values()].filter((t) => t.OrganisationID === org.ID).map((t) => ({ ID: t.ID, Name: t.Name, Default: t.Default })));
  });
  api.use((_req, res) => errors(res, 404, 'Not found'));
  api.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown } | null)?.status;
    errors(res, typeof status === 'number' && status >= 400 && status < 500 ? status : 500, 'Request failed');
  });
  return api;
}
