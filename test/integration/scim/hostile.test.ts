/**
 * SCIM 2.0 inbound under hostile or broken conditions (issue 20, item 5; src/http/scim.ts): a missing or wrong
 * token is a 401 in SCIM's shape and stores nothing, a client that keeps trying is answered 429; a huge body,
 * a deep or malformed filter, an unknown attribute or a wrong type is a SCIM 400/413 and the broker goes on;
 * unknown profiles and profiles that do not take SCIM are 404; the token file is read again when it changes; a
 * portal that is down does not fail the IdP's request, and the next sync run with Source "scim" converges.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';

const SECRET = 'scim-hostile-admin-secret-0123456789';
const PORTAL_SECRET = 'portal-api-secret-for-scim-hostile';
const TOKEN = 'portal-admin-token-for-scim-hostile';
const SCIM_TOKEN = 'scim-bearer-token-for-hostile-tests-0123456789';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
let portal: PortalStub;
let broker: TestBroker;
let dir: string;
let developers: number;

const base = (id: string, extra: Record<string, unknown>) => ({
  ID: id,
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'ProxyProvider',
  OrgID: '0',
  ReturnURL: `${portal.url}/sso`,
  IdentityHandlerConfig: { DashboardCredential: PORTAL_SECRET },
  ProviderConfig: { TargetHost: 'http://127.0.0.1:1/check', OKCode: 200, ExtractUserNameFromBasicAuthHeader: true },
  CustomUserGroupField: 'groups',
  UserGroupMapping: { Developers: 'Acme/Developers' },
  Membership: { Authority: 'idp' },
  ...extra,
});

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scim-hostile-'));
  portal = await startPortalStub({ portalApiSecret: PORTAL_SECRET, adminToken: TOKEN });
  developers = portal.addTeam(portal.addOrganisation('Acme').ID, 'Developers').ID;
  await fs.writeFile(path.join(dir, 'scim.token'), SCIM_TOKEN, { mode: 0o600 });
  await fs.writeFile(path.join(dir, 'short.token'), 'too-short', { mode: 0o600 });
  broker = await startTestBroker({
    config: {
      Secret: SECRET,
      // The tests speak for several clients through X-Forwarded-For.
      TrustedProxies: ['127.0.0.1'],
      TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } },
    },
    profiles: [
      base('scim', { Sync: { Source: 'scim', IntervalSeconds: 0, SCIM: { TokenFile: path.join(dir, 'scim.token') } } }),
      base('short', { Sync: { Source: 'scim', IntervalSeconds: 0, SCIM: { TokenFile: path.join(dir, 'short.token') } } }),
      base('missing', { Sync: { Source: 'scim', IntervalSeconds: 0, SCIM: { TokenFile: path.join(dir, 'nope.token') } } }),
      base('ldapish', { Sync: { Source: 'ldap', IntervalSeconds: 0 } }),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await portal?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const scim = (method: 'get' | 'post' | 'put' | 'patch' | 'delete', p: string, token = SCIM_TOKEN, ip = '10.0.0.1') =>
  request(broker.url)[method](`/scim/v2/scim${p}`).set('Authorization', `Bearer ${token}`).set('X-Forwarded-For', ip);
const users = async () => (await scim('get', '/Users')).body as { totalResults: number; Resources: Array<{ id: string; userName: string }> };
const isScimError = (body: unknown, status: number, scimType?: string) => expect(body).toEqual({ schemas: [ERROR], status: String(status), ...(scimType && { scimType }), detail: expect.any(String) });

describe('authentication', () => {
  it('a missing, wrong or Basic token is a SCIM 401 and stores nothing; the admin Secret is no SCIM token', async () => {
    const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'mallory@example.org' };
    for (const auth of [undefined, 'Bearer wrong-token-wrong-token-wrong-token', `Basic ${Buffer.from(`x:${SCIM_TOKEN}`).toString('base64')}`, SECRET, `Bearer ${SECRET}`]) {
      let req = request(broker.url).post('/scim/v2/scim/Users').set('Content-Type', 'application/scim+json');
      if (auth) req = req.set('Authorization', auth);
      const res = await req.send(body);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
      isScimError(res.body, 401);
    }
    expect((await users()).Resources.map((u) => u.userName)).not.toContain('mallory@example.org');
    expect(broker.logs.join('\n')).not.toContain(SCIM_TOKEN);
  });

  it('a client that keeps sending bad tokens is answered 429 for the rest of its minute; others are not', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await scim('get', '/Users', 'bad-token-bad-token-bad-token-bad', '10.9.9.9')).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const blocked = await scim('get', '/Users', SCIM_TOKEN, '10.9.9.9');
    expect(blocked.status).toBe(429);
    isScimError(blocked.body, 429);
    expect((await scim('get', '/Users', SCIM_TOKEN, '10.0.0.2')).status).toBe(200);
    // One warning for the window, in the SCIM API's words (the admin API's table, src/http/admin-api.ts failedAuthLogger).
    expect(broker.logs.filter((l) => l.includes('authentication failed') && l.includes('10.9.9.9'))).toEqual([expect.stringMatching(/SCIM authentication failed profile="scim" remote="10\.9\.9\.9"/)]);
  });

  it('a profile whose token file is missing or short answers 401 and was an error at load, naming the profile and field', async () => {
    for (const id of ['short', 'missing']) {
      const res = await request(broker.url).get(`/scim/v2/${id}/Users`).set('Authorization', 'Bearer too-short').set('X-Forwarded-For', '10.0.0.3');
      expect(res.status).toBe(401);
    }
    const logs = broker.logs.join('\n');
    expect(logs).toMatch(/profile "short": Sync\.SCIM\.TokenFile: .* holds fewer than 32 characters/);
    expect(logs).toMatch(/profile "missing": Sync\.SCIM\.TokenFile: .* cannot be read \(ENOENT\)/);
  });

  it('unknown profiles and profiles that do not take SCIM are a SCIM 404; the HTTP metrics never name a profile', async () => {
    for (const id of ['nope', 'ldapish', 'random-1', 'random-2']) {
      const res = await request(broker.url).get(`/scim/v2/${id}/Users`).set('Authorization', `Bearer ${SCIM_TOKEN}`);
      expect(res.status).toBe(404);
      isScimError(res.body, 404);
    }
    const metrics = (await request(broker.url).get('/metrics').set('Authorization', SECRET)).text;
    const routes = new Set([...metrics.matchAll(/tib_http_requests_total\{[^}]*route="([^"]*)"/g)].map((m) => m[1]));
    expect([...routes].filter((r) => r?.startsWith('/scim'))).toEqual(expect.arrayContaining(['/scim/v2/:profile/*', '/scim/v2/:profile/Users']));
    expect(metrics).not.toMatch(/route="\/scim\/v2\/(nope|random|scim)/);
  });

  it('a rotated token file is read again: the new token works, the old one no longer does', async () => {
    const file = path.join(dir, 'scim.token');
    const next = 'rotated-scim-bearer-token-0123456789-abcdef';
    await fs.writeFile(file, next);
    try {
      expect((await scim('get', '/Users', next, '10.0.0.4')).status).toBe(200);
      expect((await scim('get', '/Users', SCIM_TOKEN, '10.0.0.4')).status).toBe(401);
    } finally {
      await fs.writeFile(file, SCIM_TOKEN);
    }
    expect((await scim('get', '/Users', SCIM_TOKEN, '10.0.0.4')).status).toBe(200);
  });
});

describe('hostile requests', () => {
  it('a huge body is a SCIM 413, a body that is not JSON a 400 invalidSyntax, another content type a 415', async () => {
    const huge = await scim('post', '/Users').set('Content-Type', 'application/scim+json').send(JSON.stringify({ userName: 'big@example.org', displayName: 'x'.repeat(400_000) }));
    expect(huge.status).toBe(413);
    isScimError(huge.body, 413);
    const broken = await scim('post', '/Users').set('Content-Type', 'application/scim+json').send('{"userName": ');
    expect(broken.status).toBe(400);
    isScimError(broken.body, 400, 'invalidSyntax');
    const form = await scim('post', '/Users').set('Content-Type', 'application/x-www-form-urlencoded').send('userName=a');
    expect(form.status).toBe(415);
    isScimError(form.body, 415);
  });

  it('deep, malformed, long or unknown-attribute filters are a 400 invalidFilter', async () => {
    for (const f of [`${'('.repeat(3000)}userName eq "a"${')'.repeat(3000)}`, 'userName eq', 'userName eq "a" and', 'password eq "x"', `userName eq "${'a'.repeat(5000)}"`]) {
      const res = await scim('get', `/Users?filter=${encodeURIComponent(f)}`);
      expect(res.status).toBe(400);
      isScimError(res.body, 400, 'invalidFilter');
    }
    expect((await scim('get', '/Users?startIndex=abc')).status).toBe(400);
  });

  it('wrong types and unknown PATCH paths are a 400; unknown attributes of a create are not kept; nothing crashes', async () => {
    const bad = await scim('post', '/Users').send({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: { $gt: '' } });
    isScimError(bad.body, 400, 'invalidValue');
    const created = await scim('post', '/Users').send({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'eve@example.org', isAdmin: true, __proto__: { polluted: true }, emails: [{ value: 'eve@example.org' }] });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('isAdmin');
    const id = (created.body as { id: string }).id;
    const patch = (ops: unknown) => scim('patch', `/Users/${id}`).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops });
    isScimError((await patch([{ op: 'replace', path: 'roles', value: 'admin' }])).body, 400, 'invalidPath');
    isScimError((await patch([{ op: 'replace', path: 'active', value: 'yes' }])).body, 400, 'invalidValue');
    isScimError((await patch('replace')).body, 400, 'invalidSyntax');
    isScimError((await patch([{ op: 'replace', path: 'id', value: 'other' }])).body, 400, 'mutability');
    const dup = await scim('post', '/Users').send({ userName: 'EVE@example.org' });
    expect(dup.status).toBe(409);
    isScimError(dup.body, 409, 'uniqueness');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await scim('get', `/Users/${id}`)).status).toBe(200);
  });
});

describe('paging and discovery', () => {
  it('startIndex and count page the list (RFC 7644 §3.4.2.4); count is capped; discovery answers', async () => {
    for (let i = 0; i < 5; i++) expect((await scim('post', '/Users').send({ userName: `page${i}@example.org`, active: false })).status).toBe(201);
    const all = await users();
    const page = (await scim('get', '/Users?filter=userName%20sw%20%22page%22&startIndex=2&count=2')).body as { totalResults: number; startIndex: number; itemsPerPage: number; Resources: Array<{ userName: string }> };
    expect(page).toMatchObject({ totalResults: 5, startIndex: 2, itemsPerPage: 2 });
    expect(page.Resources.map((u) => u.userName)).toEqual(['page1@example.org', 'page2@example.org']);
    expect(((await scim('get', '/Users?count=100000')).body as { itemsPerPage: number }).itemsPerPage).toBe(all.totalResults);
    expect(((await scim('get', '/Users?count=0')).body as { Resources: unknown[] }).Resources).toEqual([]);
    const spc = await scim('get', '/ServiceProviderConfig');
    expect(spc.body).toMatchObject({ patch: { supported: true }, filter: { supported: true, maxResults: 200 }, bulk: { supported: false } });
    expect(((await scim('get', '/ResourceTypes')).body as { totalResults: number }).totalResults).toBe(2);
    expect(((await scim('get', '/Schemas')).body as { Resources: Array<{ id: string }> }).Resources.map((s) => s.id)).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:core:2.0:Group']);
  });
});

describe('the portal down', () => {
  it('the SCIM change is stored and answered; the next sync run with Source "scim" brings the portal in line', async () => {
    portal.setAdminFault('down');
    try {
      const u = await scim('post', '/Users').send({ userName: 'dora@example.org', name: { givenName: 'Dora', familyName: 'Down' }, emails: [{ value: 'dora@example.org', primary: true }] });
      expect(u.status).toBe(201);
      const g = await scim('post', '/Groups').send({ displayName: 'Developers', members: [{ value: (u.body as { id: string }).id }] });
      expect(g.status).toBe(201);
    } finally {
      portal.setAdminFault('none');
    }
    expect([...portal.users.values()].some((a) => a.Email === 'dora@example.org')).toBe(false);
    const run = await request(broker.url).post('/api/sync/scim').set('Authorization', SECRET);
    expect(run.status).toBe(200);
    const dora = [...portal.users.values()].find((a) => a.Email === 'dora@example.org');
    expect(dora).toMatchObject({ First: 'Dora', Last: 'Down', Active: true, Teams: [developers] });
  }, 30_000);
});
