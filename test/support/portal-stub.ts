/**
 * A stateful stand-in of the Tyk Developer Portal (a test fixture; the broker itself never mocks anything):
 * - the SSO flow the broker's Portal SSO action drives (src/actions/portal-sso.ts): `POST /api/sso` for a nonce,
 *   the developer lookup/create/update by SSO key, then the browser landing on `/sso?nonce=` where the portal
 *   logs the person in as test/support/contracts/README.md restates it: by SSO key, else by email (linking the
 *   key), else a new API Consumer Admin; the team from the nonce's GroupID sets the organisation; frozen once the
 *   account has a team; an account whose `Active` is false is refused (the document's User-basis: "Defines if
 *   this user is active and can login to the portal");
 * - the admin API subset a broker reconciles with, at `/portal-api` (users: list, get, create, update, delete;
 *   organisations and their teams: list, get, create), sharing that state, with `Authorization` checked. A PUT's
 *   `Teams` must be team IDs as integer strings (the document types them as strings; anything else is 422).
 *   Every call is recorded in `adminCalls` (method, path with query, body), so a test can assert what a
 *   reconcile wrote and that it wrote nothing when nothing differed;
 * - `cids: true`: organisations and teams carry a `CID` (27 base62 characters, like the document's product CIDs)
 *   in every element the admin API returns. The published 1.14.0 document does not list one on them, but the
 *   portal's documentation says they have one and the schemas allow extra properties; off by default (1.14.0 as
 *   published);
 * - `setAdminFault()`: the admin API (only; the SSO endpoints stay up) goes down (socket destroyed, no answer),
 *   slow (answers after a delay) or failing (a status with the `{"errors": [...]}` shape), so tests can drive
 *   the broker's OnPortalError and timeouts.
 *
 * Every `/portal-api` request and response is validated against the published OpenAPI document
 * (test/support/contracts/tyk-portal-api-1.14.0.yaml) by express-openapi-validator: a violation answers 500 and
 * is recorded in `violations`, so tests assert none occurred. Why that library: it is maintained (5.6.x, 2026),
 * validates OpenAPI 3.1 documents such as this one (openapi-backend 5.x checks the document against the 3.0
 * meta-schema and rejects this one's 3.1 `examples`), validates responses as well as requests (parameters,
 * unknown query parameters, bodies) and plugs into Express, which the other stubs already use.
 * The SSO endpoints (`/api/sso`, `/api/portal/developers...`, `/sso`) are the Dashboard-compatible surface the
 * document does not describe; the state they create is what the validated admin API serves.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import { parse } from 'yaml';

export const PORTAL_CONTRACT = new URL('./contracts/tyk-portal-api-1.14.0.yaml', import.meta.url);

export interface PortalUser {
  ID: number;
  Email: string;
  First: string;
  Last: string;
  Active: boolean;
  /** 0: no organisation (admins, and developers without a team). */
  OrganisationID: number;
  Role: string;
  Provider: string;
  Teams: number[];
  /** SSO keys linked to this account (`<user id>@<provider>.com`, src/actions/portal-sso.ts). */
  SsoKeys: string[];
  CreatedAt: string;
  UpdatedAt: string;
}
/** `CID` only with the `cids` option. */
export interface PortalOrganisation { ID: number; Name: string; CID?: string; CreatedAt: string; UpdatedAt: string }
export interface PortalTeam { ID: number; Name: string; CID?: string; Default: boolean; OrganisationID: number; CreatedAt: string; UpdatedAt: string }

export interface PortalViolation { method: string; path: string; status: number; message: string }
export interface PortalAdminCall { method: string; path: string; body?: unknown }
/**
 * 'down': the socket is destroyed without an answer; delayMs: the real answer, that late; status: that status.
 * A delay or a status applies to every method, or only to `method` (e.g. the PUT after a create, for the "nothing
 * half written" tests).
 */
export type PortalAdminFault = 'none' | 'down' | { delayMs: number; method?: string } | { status: number; method?: string };
export interface PortalLanding { nonce: string; outcome: 'signed-in' | 'failed'; userId?: number; reason?: string }

export interface PortalStubOptions {
  /** `PORTAL_API_SECRET`: the profile's DashboardCredential for the SSO endpoints. */
  portalApiSecret: string;
  /** An admin user's API credential, for `/portal-api`. */
  adminToken: string;
  /** Organisations and teams carry a `CID` (not in the 1.14.0 document; see the header). Default false. */
  cids?: boolean;
}

export interface PortalStub {
  url: string;
  /** For TykAPISettings.DashboardConfig: `http://127.0.0.1`. */
  endpoint: string;
  port: string;
  users: Map<number, PortalUser>;
  organisations: Map<number, PortalOrganisation>;
  teams: Map<number, PortalTeam>;
  /** Every request or response that did not validate against the OpenAPI document. */
  violations: PortalViolation[];
  /** Browser landings on `/sso`, with what the portal did. */
  landings: PortalLanding[];
  /** Every `/portal-api` request, in order (also those refused or faulted); clear it with `adminCalls.length = 0`. */
  adminCalls: PortalAdminCall[];
  /** Every request to the SSO endpoints `/api/sso` and `/api/portal/...` (method and path), in order. */
  ssoCalls: PortalAdminCall[];
  addOrganisation(name: string): PortalOrganisation;
  addTeam(organisationId: number, name: string, isDefault?: boolean): PortalTeam;
  addUser(user: Partial<PortalUser> & { Email: string }): PortalUser;
  /** The next `/portal-api` response body is replaced by one that breaks the schema (to prove validation). */
  breakNextResponse(): void;
  /** Until set back to 'none', every `/portal-api` request meets this fault; `/api/sso`, `/api/portal`, `/sso` do not. */
  setAdminFault(fault: PortalAdminFault): void;
  close(): Promise<void>;
}

const hex24 = () => randomBytes(12).toString('hex');
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** A CID like the document's `2r7p8aUnkzby17hCJk8w2XvK3K6` (the modulo bias does not matter to a fixture). */
const cid = () => [...randomBytes(27)].map((b) => BASE62[b % 62]).join('');
/** The document's date-time format, `2023-06-23 21:02`. */
const stamp = (d = new Date()) => d.toISOString().slice(0, 16).replace('T', ' ');
const onlyErrors = (b: unknown) =>
  typeof b === 'object' && b !== null && Object.keys(b).join() === 'errors' && Array.isArray((b as { errors: unknown }).errors) && (b as { errors: unknown[] }).errors.every((e) => typeof e === 'string');
/** The validator has already checked (and coerced) the query's integers. */
const intQuery = (v: unknown, fallback: number) => (v === undefined || v === '' ? fallback : Number(v));

export async function startPortalStub(opts: PortalStubOptions): Promise<PortalStub> {
  const users = new Map<number, PortalUser>();
  const organisations = new Map<number, PortalOrganisation>();
  const teams = new Map<number, PortalTeam>();
  const violations: PortalViolation[] = [];
  const landings: PortalLanding[] = [];
  const nonces = new Map<string, { section: string; email: string; displayName: string; groupId: string }>();
  /** What the broker wrote through the Dashboard-compatible developer API, by SSO key. */
  const developers = new Map<string, Record<string, unknown>>();
  let nextId = 1;
  let breakNext = false;
  const adminCalls: PortalAdminCall[] = [];
  const ssoCalls: PortalAdminCall[] = [];
  let fault: PortalAdminFault = 'none';
  const delayed = new Set<NodeJS.Timeout>();
  const withCid = opts.cids ? () => ({ CID: cid() }) : () => ({});

  const stub: Pick<PortalStub, 'addOrganisation' | 'addTeam' | 'addUser'> = {
    addOrganisation(name) {
      const org: PortalOrganisation = { ID: nextId++, Name: name, ...withCid(), CreatedAt: stamp(), UpdatedAt: stamp() };
      organisations.set(org.ID, org);
      return org;
    },
    addTeam(organisationId, name, isDefault = false) {
      if (!organisations.has(organisationId)) throw new Error(`no organisation ${organisationId}`);
      const team: PortalTeam = { ID: nextId++, Name: name, ...withCid(), Default: isDefault, OrganisationID: organisationId, CreatedAt: stamp(), UpdatedAt: stamp() };
      teams.set(team.ID, team);
      return team;
    },
    addUser(u) {
      const user: PortalUser = { First: '', Last: '', Active: true, OrganisationID: 0, Role: 'consumer-team-member', Provider: 'password', Teams: [], SsoKeys: [], CreatedAt: stamp(), UpdatedAt: stamp(), ...u, ID: nextId++ };
      users.set(user.ID, user);
      return user;
    },
  };

  const indexElem = (u: PortalUser) => ({ ID: u.ID, Email: u.Email, First: u.First, Last: u.Last, Active: u.Active, OrganisationID: u.OrganisationID, Role: u.Role, Provider: u.Provider });
  /** The CID, when there is one (the `cids` option). */
  const cidOf = (x: { CID?: string }) => (x.CID === undefined ? {} : { CID: x.CID });
  const orgElem = (o: PortalOrganisation) => ({ ID: o.ID, Name: o.Name, ...cidOf(o) });
  const orgShow = (o: PortalOrganisation) => ({
    ...orgElem(o), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
    Teams: [...teams.values()].filter((t) => t.OrganisationID === o.ID).map(teamElem),
    Users: [...users.values()].filter((u) => u.OrganisationID === o.ID).map(indexElem),
  });
  const teamElem = (t: PortalTeam) => ({ ID: t.ID, Name: t.Name, ...cidOf(t), Default: t.Default });
  const teamShow = (t: PortalTeam) => ({
    ID: t.ID, Name: t.Name, ...cidOf(t), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
    Users: [...users.values()].filter((u) => u.Teams.includes(t.ID)).map((u) => String(u.ID)),
  });
  const userShow = (u: PortalUser) => ({
    ...indexElem(u),
    Organisation: organisations.get(u.OrganisationID)?.Name ?? '',
    ResetPassword: false,
    Teams: u.Teams.map((id) => teams.get(id)).filter((t): t is PortalTeam => t !== undefined).map(teamShow),
    CreatedAt: u.CreatedAt,
    UpdatedAt: u.UpdatedAt,
  });
  /** `page` (from 1) and `per_page` (default 20) as the document's PaginationP*Param; `limit` caps the rows. */
  const paged = <T>(req: Request, items: T[]): T[] => {
    const perPage = intQuery(req.query.per_page, 20);
    const page = intQuery(req.query.page, 1);
    const rows = items.slice((page - 1) * perPage, page * perPage);
    return req.query.limit === undefined ? rows : rows.slice(0, intQuery(req.query.limit, rows.length));
  };
  /** Sends a `/portal-api` answer, unless a test asked to break it. */
  const send = (res: Response, body: unknown) => {
    if (breakNext) {
      breakNext = false;
      return res.json(Array.isArray(body) ? [{ ID: 'not-a-number' }] : { ID: 'not-a-number' });
    }
    return res.json(body);
  };
  /** An error in the document's shape, components/schemas/OnlyErrors. */
  const errors = (res: Response, status: number, ...messages: string[]) => send(res.status(status), { errors: messages });

  const app = express();

  // --- The SSO flow (the Dashboard-compatible surface; the OpenAPI document does not cover it). ---
  const sso = express.Router();
  sso.use(express.json({ type: () => true }));
  sso.use(['/api/sso', '/api/portal'], (req, _res, next) => {
    ssoCalls.push({ method: req.method, path: req.originalUrl });
    next();
  });
  sso.use(['/api/sso', '/api/portal'], (req, res, next) => (req.get('Authorization') === opts.portalApiSecret ? next() : res.status(401).json({ Status: 'Error', Message: 'Not authorised', Meta: null })));
  sso.post('/api/sso', (req, res) => {
    const b = req.body as { ForSection?: string; EmailAddress?: string; DisplayName?: string; GroupID?: string };
    const nonce = randomBytes(16).toString('hex');
    nonces.set(nonce, { section: b.ForSection ?? '', email: b.EmailAddress ?? '', displayName: b.DisplayName ?? '', groupId: b.GroupID ?? '' });
    res.json({ Status: 'OK', Message: 'SSO Nonce created', Meta: nonce });
  });
  sso.get('/api/portal/developers/ssokey/:key', (req, res) => {
    const dev = developers.get(String(req.params.key));
    if (!dev) return res.status(404).json({ Status: 'Error', Message: 'Developer not found', Meta: null });
    res.json(dev);
  });
  sso.post('/api/portal/developers', (req, res) => {
    const dev: Record<string, unknown> = { ...(req.body as Record<string, unknown>), id: hex24() };
    developers.set(String(dev.sso_key), dev);
    res.json({ Status: 'OK', Message: dev.id, Meta: null });
  });
  sso.put('/api/portal/developers/:id', (req, res) => {
    const existing = [...developers.values()].find((d) => d.id === req.params.id);
    if (!existing) return res.status(404).json({ Status: 'Error', Message: 'Developer not found', Meta: null });
    developers.set(String(existing.sso_key), req.body as Record<string, unknown>);
    res.json({ Status: 'OK', Message: 'Data updated', Meta: null });
  });
  // The browser's landing: the portal's documented login (test/support/contracts/README.md).
  sso.get('/sso', (req, res) => {
    const nonce = typeof req.query.nonce === 'string' ? req.query.nonce : '';
    const data = nonces.get(nonce);
    nonces.delete(nonce); // one use
    const fail = (reason: string) => {
      landings.push({ nonce, outcome: 'failed', reason });
      res.status(403).type('html').send(`<!doctype html><title>Portal</title><h1>Login failed</h1><p>${reason}</p>`);
    };
    if (!data || data.section !== 'portal') return fail('unknown nonce');
    const dev = [...developers.values()].find((d) => d.nonce === nonce);
    if (!dev) return fail('no developer carries this nonce');
    const ssoKey = String(dev.sso_key);
    // The team is checked before anything is written: an unknown team fails the login and changes nothing.
    const team = data.groupId === '' ? undefined : teams.get(Number(data.groupId));
    if (data.groupId !== '' && !team) return fail(`team ${data.groupId} does not exist`);

    let user = [...users.values()].find((u) => u.SsoKeys.includes(ssoKey));
    const byEmail = user ? undefined : [...users.values()].find((u) => u.Email.toLowerCase() === data.email.toLowerCase());
    // An inactive account cannot log in (User-basis `Active`), and is left as it was (no key linked).
    if ((user ?? byEmail)?.Active === false) return fail('account inactive');
    if (byEmail) {
      user = byEmail;
      user.SsoKeys.push(ssoKey); // found by email: link the SSO key
    }
    if (!user) {
      const [first = '', ...last] = data.displayName.split(' ');
      user = stub.addUser({ Email: data.email, First: first, Last: last.join(' '), Role: 'consumer-admin', Provider: ssoKey.slice(ssoKey.lastIndexOf('@') + 1).replace(/\.com$/, ''), SsoKeys: [ssoKey] });
    }
    // Frozen after the first team: later logins never change team or organisation.
    if (team && user.Teams.length === 0) {
      user.Teams = [team.ID];
      user.OrganisationID = team.OrganisationID;
      user.UpdatedAt = stamp();
    }
    landings.push({ nonce, outcome: 'signed-in', userId: user.ID });
    res.type('html').send(`<!doctype html><title>Portal</title><h1>Signed in</h1><p>${user.Email}</p>`);
  });
  app.use(sso);

  // --- The admin API, validated against the published document. ---
  const api = express.Router();
  api.use('/portal-api', express.json());
  api.use('/portal-api', (req, res, next) => {
    adminCalls.push({ method: req.method, path: req.originalUrl, ...(req.body === undefined ? {} : { body: req.body as unknown }) });
    if (fault === 'none') return next();
    if (fault === 'down') return req.socket.destroy();
    if (fault.method !== undefined && fault.method !== req.method) return next();
    // A failure answers before the validator, as a broken portal would, in the document's error shape.
    if ('status' in fault) return res.status(fault.status).json({ errors: [`injected fault: status ${fault.status}`] });
    const timer = setTimeout(() => {
      delayed.delete(timer);
      next();
    }, fault.delayMs);
    delayed.add(timer);
  });
  api.use(OpenApiValidator.middleware({
    apiSpec: parse(readFileSync(PORTAL_CONTRACT, 'utf8')) as OpenAPIV3.DocumentV3_1,
    validateRequests: true,
    validateResponses: {
      // The document declares few error statuses (no 401 anywhere, no 404 on some GETs): an undeclared 4xx is
      // accepted only in the document's own error shape, components/schemas/OnlyErrors (`{"errors": [string]}`).
      // Anything else is thrown on, to the violation handler below.
      onError(err, body) {
        const undeclared = /^no schema defined for status code '4\d\d'/.test(err.message);
        if (undeclared && onlyErrors(body)) return;
        throw err;
      },
    },
    // Authorization is checked below with the document's error shape; the validator checks the rest.
    validateSecurity: false,
  }));
  api.use((req, res, next) => (req.get('Authorization') === opts.adminToken ? next() : errors(res, 401, 'Not authorised')));

  api.get('/portal-api/users', (req, res) => send(res, paged(req, [...users.values()]).map(indexElem)));
  api.get('/portal-api/users/:id', (req, res) => {
    const u = users.get(Number(req.params.id));
    return u ? send(res, userShow(u)) : errors(res, 404, 'User not found');
  });
  api.post('/portal-api/users', (req, res) => {
    const b = req.body as Partial<PortalUser> & { Email?: string };
    if (!b.Email) return errors(res, 422, 'Email is required');
    if ([...users.values()].some((u) => u.Email.toLowerCase() === b.Email?.toLowerCase())) return errors(res, 422, 'Email is already taken');
    if (b.OrganisationID && !organisations.has(b.OrganisationID)) return errors(res, 422, 'Organisation not found');
    const { Email, First, Last, Active, OrganisationID, Role, Provider } = b;
    const fields = Object.fromEntries(Object.entries({ First, Last, Active, OrganisationID, Role, Provider }).filter(([, v]) => v !== undefined));
    send(res, userShow(stub.addUser({ Email, ...fields })));
  });
  api.put('/portal-api/users/:id', (req, res) => {
    const u = users.get(Number(req.params.id));
    if (!u) return errors(res, 422, 'User not found');
    const b = req.body as Partial<Omit<PortalUser, 'Teams'>> & { Teams?: string[] };
    // The document types Teams as strings; the portal takes team IDs, so anything but an integer string is refused.
    const notAnId = b.Teams?.find((t) => !/^[0-9]+$/.test(t));
    if (notAnId !== undefined) return errors(res, 422, `Team ID ${JSON.stringify(notAnId)} is not an integer`);
    const teamIds = b.Teams?.map(Number);
    const newTeams = teamIds?.map((id) => teams.get(id));
    if (newTeams?.some((t) => t === undefined)) return errors(res, 422, 'Team not found');
    const orgId = b.OrganisationID ?? newTeams?.[0]?.OrganisationID ?? u.OrganisationID;
    if (orgId !== 0 && !organisations.has(orgId)) return errors(res, 422, 'Organisation not found');
    if (newTeams?.some((t) => t?.OrganisationID !== orgId)) return errors(res, 422, 'Teams must belong to the user organisation');
    for (const k of ['Email', 'First', 'Last', 'Active', 'Role', 'Provider'] as const) if (b[k] !== undefined) Object.assign(u, { [k]: b[k] });
    u.OrganisationID = orgId;
    if (teamIds) u.Teams = teamIds;
    u.UpdatedAt = stamp();
    send(res, userShow(u));
  });
  api.delete('/portal-api/users/:id', (req, res) => {
    const id = Number(req.params.id);
    if (!users.delete(id)) return errors(res, 404, 'User not found');
    send(res, { status: 'ok' });
  });
  api.get('/portal-api/organisations', (req, res) => send(res, paged(req, [...organisations.values()]).map(orgElem)));
  api.post('/portal-api/organisations', (req, res) => {
    const name = (req.body as { Name?: string }).Name;
    if (!name) return errors(res, 422, 'Name is required');
    send(res, orgShow(stub.addOrganisation(name)));
  });
  api.get('/portal-api/organisations/:id', (req, res) => {
    const o = organisations.get(Number(req.params.id));
    return o ? send(res, orgShow(o)) : errors(res, 404, 'Organisation not found');
  });
  api.post('/portal-api/organisations/:id/teams', (req, res) => {
    const o = organisations.get(Number(req.params.id));
    if (!o) return errors(res, 404, 'Organisation not found');
    const name = (req.body as { Name?: string }).Name;
    if (!name) return errors(res, 422, 'Name is required');
    send(res, teamShow(stub.addTeam(o.ID, name)));
  });
  api.get('/portal-api/organisations/:id/teams', (req, res) => {
    const o = organisations.get(Number(req.params.id));
    if (!o) return errors(res, 404, 'Organisation not found');
    send(res, paged(req, [...teams.values()].filter((t) => t.OrganisationID === o.ID)).map(teamElem));
  });
  api.get('/portal-api/organisations/:id/teams/:teamId', (req, res) => {
    const t = teams.get(Number(req.params.teamId));
    if (!t || t.OrganisationID !== Number(req.params.id)) return errors(res, 404, 'Team not found');
    send(res, teamShow(t));
  });
  // Anything the validator refused (request or response): loud, recorded, 500.
  api.use((err: { status?: number; message?: string }, req: Request, res: Response, next: NextFunction) => {
    void next;
    violations.push({ method: req.method, path: req.originalUrl, status: err.status ?? 500, message: err.message ?? String(err) });
    if (!res.headersSent) res.status(500).json({ errors: [`contract violation: ${err.message ?? String(err)}`] });
  });
  app.use(api);

  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = String((server.address() as AddressInfo).port);
  return {
    url: `http://127.0.0.1:${port}`,
    endpoint: 'http://127.0.0.1',
    port,
    users,
    organisations,
    teams,
    violations,
    landings,
    adminCalls,
    ssoCalls,
    ...stub,
    breakNextResponse() {
      breakNext = true;
    },
    setAdminFault(f) {
      fault = f;
    },
    close: () => new Promise<void>((resolve) => {
      for (const timer of delayed) clearTimeout(timer);
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
