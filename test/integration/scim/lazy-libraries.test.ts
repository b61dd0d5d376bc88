/**
 * A broker loads the SCIM, multipart and JOSE libraries only when something needs them (issue 22, item 1;
 * docs/performance.md "Idle memory"): the built CLI with one LDAP profile loads none of scim-patch,
 * scim2-parse-filter, multer or jose; a multipart login body loads multer; a SCIM profile added through the admin
 * API loads the PATCH and filter libraries at its first request, which works. jose stays unloaded (only OpenID
 * Connect, back-channel logout and the Okta source use it). The child preloads test/support/module-log.js, which
 * writes every module the ESM loader resolves to a file (test/support/module-log-broker.ts, shared with test/integration/saml/lazy-stacks.test.ts).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startModuleLogBroker, type ModuleLogBroker } from '../../support/module-log-broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';
import { bareLdapProfile } from '../../support/profiles.js';

const SECRET = 'lazy-libraries-admin-secret-0123456789abcdef';
const PORTAL_SECRET = 'portal-api-secret-for-lazy-libraries';
const TOKEN = 'portal-admin-token-for-lazy-libraries';
const SCIM_TOKEN = 'lazy-libraries-scim-bearer-token-0123456789';
const LIBS = { scimPatch: '/node_modules/scim-patch/', scimFilter: '/node_modules/scim2-parse-filter/', multer: '/node_modules/multer/', jose: '/node_modules/jose/' };

let dir: string;
let portal: PortalStub;
let broker: ModuleLogBroker;
let base: string;

const loaded = async () => {
  const log = await broker.modules();
  return Object.fromEntries(Object.entries(LIBS).map(([k, v]) => [k, log.includes(v)]));
};

beforeAll(async () => {
  portal = await startPortalStub({ portalApiSecret: PORTAL_SECRET, adminToken: TOKEN });
  portal.addTeam(portal.addOrganisation('Acme').ID, 'Everyone');
  const conf = {
    Secret: SECRET,
    TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } },
  };
  broker = await startModuleLogBroker('lazy-libraries', conf, [bareLdapProfile('ldap-only', { ReturnURL: 'http://dash.example.com/tap', IdentityHandlerConfig: { DashboardCredential: PORTAL_SECRET } })]);
  ({ base, dir } = broker);
  await fs.writeFile(path.join(dir, 'scim.token'), SCIM_TOKEN, { mode: 0o600 });
}, 90_000);

afterAll(async () => {
  await broker?.close();
  await portal?.close();
});

describe('the SCIM, multipart and JOSE libraries are loaded by the first request that needs them', () => {
  it('one LDAP profile: none of scim-patch, scim2-parse-filter, multer or jose is loaded', async () => {
    expect(await broker.modules()).toContain('/node_modules/ldapts/');
    expect(await loaded()).toEqual({ scimPatch: false, scimFilter: false, multer: false, jose: false });
  });

  it('a multipart login body loads multer', async () => {
    const form = new FormData();
    form.set('username', 'someone');
    form.set('password', 'not-the-password');
    await fetch(`${base}/auth/ldap-only/ADProvider/callback`, { method: 'POST', body: form, redirect: 'manual' });
    expect((await loaded()).multer).toBe(true);
  }, 30_000);

  it("a SCIM profile added through the admin API loads the PATCH and filter libraries at its first request, which works", async () => {
    const profile = {
      ID: 'scim-added',
      ActionType: 'GenerateOrLoginDeveloperProfile',
      ProviderName: 'ProxyProvider',
      OrgID: '0',
      ReturnURL: `${portal.url}/sso`,
      IdentityHandlerConfig: { DashboardCredential: PORTAL_SECRET },
      ProviderConfig: { TargetHost: 'http://127.0.0.1:1/check', OKCode: 200, ExtractUserNameFromBasicAuthHeader: true },
      DefaultUserGroupID: 'Acme/Everyone',
      Membership: { Authority: 'idp' },
      Sync: { Source: 'scim', IntervalSeconds: 0, Deprovision: 'deactivate', SCIM: { TokenFile: path.join(dir, 'scim.token') } },
    };
    const added = await fetch(`${base}/api/profiles/scim-added`, { method: 'POST', headers: { Authorization: SECRET, 'Content-Type': 'application/json' }, body: JSON.stringify(profile) });
    expect(added.status).toBe(201);
    expect(await loaded()).toMatchObject({ scimPatch: false, scimFilter: false });

    const scim = (method: string, p: string, body?: unknown) =>
      fetch(`${base}/scim/v2/scim-added${p}`, { method, headers: { Authorization: `Bearer ${SCIM_TOKEN}`, ...(body !== undefined && { 'Content-Type': 'application/scim+json' }) }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const created = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ann@example.org', name: { givenName: 'Ann' }, active: true });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const patched = await scim('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Anne' }] });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { name: { givenName: string } }).name.givenName).toBe('Anne');
    const found = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "ANN@example.org"')}`);
    expect(found.status).toBe(200);
    expect(((await found.json()) as { totalResults: number }).totalResults).toBe(1);
    expect(await loaded()).toEqual({ scimPatch: true, scimFilter: true, multer: true, jose: false });
  }, 60_000);
});
