/**
 * A recording stub of the Tyk Dashboard, Portal and Gateway admin APIs, answering as Tyk does, so tests can
 * assert on exactly what crossed the wire (method, path, headers, JSON body). A test fixture only: the
 * broker itself never mocks anything.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';

export interface RecordedRequest {
  method: string;
  /** Path as sent (still percent-encoded). */
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON, or undefined. */
  body: unknown;
  raw: string;
}

export interface TykStubOptions {
  dashboardCredential: string;
  adminSecret: string;
  gatewaySecret?: string;
  /** false: the Dashboard has no /api/sso (404), as old Dashboards. */
  hasApiSso?: boolean;
}

export interface TykStub {
  url: string;
  /** For TykAPISettings.DashboardConfig: `http://127.0.0.1`. */
  endpoint: string;
  /** The port as a string, as tib.conf wants it. */
  port: string;
  requests: RecordedRequest[];
  /** Portal developers by SSO key. */
  developers: Map<string, Record<string, unknown>>;
  issuedNonces: string[];
  /** Browser landings on /portal/sso, /sso or /tap, with the nonce they carried. */
  landings: Array<{ path: string; nonce: string | undefined }>;
  /**
   * Live keys and OAuth access tokens, by id: issued by `POST /api/keys` or the Gateway's authorize-client,
   * removed by `DELETE /api/apis/{api}/keys/{key}` (404 for an unknown key).
   */
  keys: Map<string, { apiId: string; via: 'dashboard' | 'gateway'; session: unknown }>;
  /** Every key deletion, as decoded from the path. */
  deletedKeys: Array<{ apiId: string; key: string; found: boolean }>;
  /** Ids to hand out next (key ids, access tokens), in order, before random ones. */
  nextKeyIds: string[];
  /** The next request whose path starts with `prefix` answers `status`, or never answers ('hang'). */
  failNext(prefix: string, outcome: number | 'hang'): void;
  reset(): void;
  close(): Promise<void>;
}

const hex24 = () => randomBytes(12).toString('hex');
const notAuthorised = (res: Response) => res.status(401).json({ Status: 'Error', Message: 'Not authorised', Meta: null });

export async function startTykStub(opts: TykStubOptions): Promise<TykStub> {
  const requests: RecordedRequest[] = [];
  const developers = new Map<string, Record<string, unknown>>();
  const issuedNonces: string[] = [];
  const landings: TykStub['landings'] = [];
  const failures: Array<{ prefix: string; outcome: number | 'hang' }> = [];
  const keys: TykStub['keys'] = new Map();
  const deletedKeys: TykStub['deletedKeys'] = [];
  const nextKeyIds: string[] = [];
  const newKeyId = () => nextKeyIds.shift() ?? hex24();
  const app = express();
  app.use(express.text({ type: () => true, limit: '1mb' }));

  app.use((req, res, next) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    requests.push({ method: req.method, path: req.originalUrl, headers, body, raw });
    const i = failures.findIndex((f) => req.path.startsWith(f.prefix));
    if (i >= 0) {
      const [f] = failures.splice(i, 1);
      if (f?.outcome === 'hang') return; // never answer
      return res.status(f?.outcome as number).json({ Status: 'Error', Message: 'injected failure' });
    }
    next();
  });

  const nonce = (res: Response) => {
    const n = randomBytes(16).toString('hex');
    issuedNonces.push(n);
    res.status(200).json({ Status: 'OK', Message: 'SSO Nonce created', Meta: n });
  };

  app.post('/api/sso', (req, res) => {
    if (opts.hasApiSso === false) return res.status(404).send('404 page not found\n');
    if (req.get('Authorization') !== opts.dashboardCredential) return notAuthorised(res);
    nonce(res);
  });
  app.post('/admin/sso', (req, res) => {
    if (req.get('Admin-Auth') !== opts.adminSecret) return notAuthorised(res);
    nonce(res);
  });

  const portalAuth = (req: Request, res: Response) => req.get('Authorization') === opts.dashboardCredential || (notAuthorised(res), false);
  app.get('/api/portal/developers/ssokey/:key', (req, res) => {
    if (!portalAuth(req, res)) return;
    const dev = developers.get(String(req.params.key));
    if (!dev) return res.status(404).json({ Status: 'Error', Message: 'Developer not found', Meta: null });
    res.json(dev);
  });
  app.post('/api/portal/developers', (req, res) => {
    if (!portalAuth(req, res)) return;
    const dev: Record<string, unknown> = { ...(JSON.parse(String(req.body)) as Record<string, unknown>), id: hex24(), api_keys: {}, oauth_clients: {}, custom_field_set_by_portal: 'kept' };
    developers.set(String(dev.sso_key), dev);
    res.json({ Status: 'OK', Message: dev.id, Meta: null });
  });
  app.put('/api/portal/developers/:id', (req, res) => {
    if (!portalAuth(req, res)) return;
    const dev = JSON.parse(String(req.body)) as Record<string, unknown>;
    const existing = [...developers.values()].find((d) => d.id === req.params.id);
    if (!existing) return res.status(404).json({ Status: 'Error', Message: 'Developer not found', Meta: null });
    developers.set(String(existing.sso_key), dev);
    res.json({ Status: 'OK', Message: 'Data updated', Meta: null });
  });

  // Gateway and key endpoints, for the token actions. The Gateway reads a form (as Go's ParseForm does).
  app.post(/^\/(.*)tyk\/oauth\/authorize-client\/$/, (req, res) => {
    if (req.get('X-Tyk-Authorization') !== opts.gatewaySecret) return res.status(403).json({ status: 'error', message: 'Attempted administrative access with invalid or missing key!' });
    if (req.get('Content-Type') !== 'application/x-www-form-urlencoded') return res.status(400).json({ error: 'invalid_request' });
    const form = new URLSearchParams(String(req.body));
    const responseType = form.get('response_type');
    const redirect = form.get('redirect_uri') ?? '';
    if (!form.get('client_id') || !redirect || (responseType !== 'token' && responseType !== 'code')) return res.status(403).json({ error: 'unauthorized_client' });
    let session: unknown;
    try {
      session = JSON.parse(form.get('key_rules') ?? '');
    } catch {
      return res.status(400).json({ error: 'invalid key_rules' });
    }
    if (responseType === 'code') {
      const code = hex24();
      return res.json({ code, redirect_to: `${redirect}?code=${code}` });
    }
    const token = newKeyId();
    const apiId = Object.keys((session as { access_rights?: object }).access_rights ?? {})[0] ?? '';
    keys.set(token, { apiId, via: 'gateway', session });
    res.json({ access_token: token, expires_in: 3600, redirect_to: `${redirect}#access_token=${encodeURIComponent(token)}&token_type=bearer&expires_in=3600`, token_type: 'bearer' });
  });
  app.post('/api/keys', (req, res) => {
    if (!portalAuth(req, res)) return;
    let session: { access_rights?: object };
    try {
      session = JSON.parse(String(req.body)) as { access_rights?: object };
    } catch {
      return res.status(400).json({ Status: 'Error', Message: 'Malformed key data', Meta: null });
    }
    const keyId = newKeyId();
    keys.set(keyId, { apiId: Object.keys(session.access_rights ?? {})[0] ?? '', via: 'dashboard', session });
    res.json({ api_model: {}, key_id: keyId, data: session, key_hash: hex24() });
  });
  app.delete('/api/apis/:api/keys/:key', (req, res) => {
    if (!portalAuth(req, res)) return;
    const key = String(req.params.key);
    const found = keys.delete(key);
    deletedKeys.push({ apiId: String(req.params.api), key, found });
    if (!found) return res.status(404).json({ Status: 'Error', Message: 'Key not found', Meta: null });
    res.json({ Status: 'OK', Message: 'Key deleted successfully', Meta: null });
  });

  // Where the browser lands after the broker's redirect.
  app.get(['/portal/sso', '/portal/sso/', '/sso', '/tap'], (req, res) => {
    landings.push({ path: req.path, nonce: typeof req.query.nonce === 'string' ? req.query.nonce : undefined });
    res.type('html').send('<!doctype html><title>Portal</title><h1>Signed in</h1>');
  });
  // The portal's own logout (and a Dashboard's stand-in), which the broker's logout requests last (docs/logout.md).
  app.get(['/auth/password/logout', '/logout'], (_req, res) => {
    res.type('html').send('<!doctype html><title>Portal</title><h1>Signed out</h1>');
  });
  app.get('/login-failed', (_req, res) => {
    res.type('html').send('<!doctype html><title>Portal</title><h1>Login failed</h1>');
  });

  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = String((server.address() as AddressInfo).port);
  return {
    url: `http://127.0.0.1:${port}`,
    endpoint: 'http://127.0.0.1',
    port,
    requests,
    developers,
    issuedNonces,
    landings,
    keys,
    deletedKeys,
    nextKeyIds,
    failNext(prefix, outcome) {
      failures.push({ prefix, outcome });
    },
    reset() {
      requests.length = 0;
      failures.length = 0;
      landings.length = 0;
      deletedKeys.length = 0;
      nextKeyIds.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
