/**
 * Unknown portal teams found before a user meets them (issue 19, item 3; src/portal/check.ts):
 * `identity-broker portal check` against the portal stand-in (test/support/portal-stub.ts, its admin API validated
 * against the published OpenAPI document), and a profile write through the admin API of a real broker's store.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runToolCommand } from '../../../src/cli/cli.js';
import type { CliIo } from '../../../src/cli/io.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';

const SECRET = 'portal-check-admin-secret';
const PORTAL_SECRET = 'portal-check-sso-secret';
const TOKEN = 'portal-check-admin-token';
const DEVS = 'cn=devs,ou=groups,dc=example,dc=org';
const TESTERS = 'cn=testers,ou=groups,dc=example,dc=org';

let portal: PortalStub;
let dir = '';
let testersId = 0;

/** A Portal SSO profile over LDAP (never contacted: the check asks only the portal). */
const developer = (id: string, over: Record<string, unknown> = {}) => ({
  ID: id,
  Name: `Developers ${id}`,
  OrgID: '0',
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://portal.example.com/sso',
  IdentityHandlerConfig: { DashboardCredential: PORTAL_SECRET },
  ProviderConfig: {
    LDAPServer: 'ldap.example.com',
    LDAPPort: '389',
    LDAPStartTLS: true,
    LDAPAdminUser: 'cn=admin,dc=example,dc=org',
    LDAPAdminPassword: 'ldap-admin-password-0123',
    LDAPBaseDN: 'ou=people,dc=example,dc=org',
    LDAPFilter: '(uid=*USERNAME*)',
    LDAPSearchScope: 2,
    LDAPEmailAttribute: 'mail',
  },
  CustomUserGroupField: 'memberOf',
  UserGroupMapping: { [DEVS]: 'Acme/Developers', [TESTERS]: String(testersId) },
  DefaultUserGroupID: 'Acme/Testers',
  Membership: { Authority: 'idp' },
  ...over,
});

beforeAll(async () => {
  portal = await startPortalStub({ portalApiSecret: PORTAL_SECRET, adminToken: TOKEN });
  const acme = portal.addOrganisation('Acme');
  portal.addTeam(acme.ID, 'Developers');
  testersId = portal.addTeam(acme.ID, 'Testers').ID;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portal-check-'));
}, 30_000);
afterAll(async () => {
  await portal?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  portal.setAdminFault('none');
  expect(portal.violations).toEqual([]);
});

async function files(profiles: unknown[], conf: unknown = { TykAPISettings: { PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } } }) {
  const sub = await fs.mkdtemp(path.join(dir, 'case-'));
  const p = path.join(sub, 'profiles.json');
  const c = path.join(sub, 'tib.conf');
  await fs.writeFile(p, JSON.stringify(profiles, null, 2));
  await fs.writeFile(c, JSON.stringify(conf));
  return { p, c };
}

/** `identity-broker <argv>`, in-process, as test/integration/profiles/tooling.test.ts runs the tooling. */
async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env: {} };
  const code = await runToolCommand(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('identity-broker portal check', () => {
  it('every team resolves (by name, by ID, the default): exit 0 and a summary', async () => {
    const { p, c } = await files([developer('good')]);
    const r = await run(['portal', 'check', '-c', c, '-p', p]);
    expect(r).toEqual({ code: 0, out: `ok: ${p}: 3 team values in 1 portal profile against 1 portal: every team resolves`, err: '' });
  });

  it('a misspelt team and a DefaultUserGroupID the portal does not have: exit 1, one line each naming profile, group, team and did-you-mean', async () => {
    const { p, c } = await files([developer('good'), developer('bad', { UserGroupMapping: { [DEVS]: 'Acme/Developrs' }, DefaultUserGroupID: '999' })]);
    const r = await run(['portal', 'check', '-c', c, '-p', p]);
    expect(r.code).toBe(1);
    expect(r.err.split('\n')).toEqual([
      `error: ${p}: profile "bad": UserGroupMapping "${DEVS}": team "Acme/Developrs": organisation "Acme" has no team named "Developrs" (did you mean "Acme/Developers"?)`,
      `error: ${p}: profile "bad": DefaultUserGroupID: team "999": no team has ID 999`,
    ]);
    expect(r.out).toBe(`invalid: ${p}: 2 problems (5 team values in 2 portal profiles against 1 portal)`);
    const json = JSON.parse((await run(['portal', 'check', '-c', c, '-p', p, '--json'])).out) as { ok: boolean; results: Array<{ profile: string; problems: unknown[] }> };
    expect(json.ok).toBe(false);
    expect(json.results.find((x) => x.profile === 'bad')?.problems).toHaveLength(2);
  });

  it('a profile naming teams with no PortalAPIConfig anywhere is a problem; a profile with its own PortalAPIConfig is checked on its portal', async () => {
    const own = { TykAPISettings: { PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } } };
    const { p, c } = await files([developer('orphan'), developer('own', own)], {});
    const r = await run(['portal', 'check', '-c', c, '-p', p]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`error: ${p}: profile "orphan": names portal teams by name or CID or has "idp" Membership, but TykAPISettings.PortalAPIConfig.Endpoint is not set (tib.conf or the profile's own TykAPISettings)`);
  });

  it('a portal that is down, or refuses the token: exit 2 saying so; invalid files: exit 2 naming the file', async () => {
    const { p, c } = await files([developer('good')]);
    portal.setAdminFault('down');
    const down = await run(['portal', 'check', '-c', c, '-p', p]);
    expect(down.code).toBe(2);
    expect(down.err).toContain(`error: ${p}: profile "good": not checked: the portal at ${portal.url}/portal-api cannot be asked: GET /portal-api/organisations`);
    expect(down.out).toBe(`unchecked: ${p}: 1 profile could not be checked against 1 portal`);
    portal.setAdminFault('none');

    const wrong = await files([developer('good')], { TykAPISettings: { PortalAPIConfig: { Endpoint: portal.url, AdminToken: 'not-the-token' } } });
    const refused = await run(['portal', 'check', '-c', wrong.c, '-p', wrong.p]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('answered 401: check TykAPISettings.PortalAPIConfig.AdminToken');

    const broken = await files([{ ...developer('x'), ActionType: 'Nope' }]);
    const invalid = await run(['portal', 'check', '-c', broken.c, '-p', broken.p]);
    expect(invalid.code).toBe(2);
    expect(invalid.err).toMatch(new RegExp(`^error: ${broken.p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has invalid profiles \\(nothing was checked\\)`));
    expect((await run(['portal', 'check'])).code).toBe(2);
    expect((await run(['portal', 'nope', '-p', p])).code).toBe(2);
  });
});

describe('admin API profile writes', () => {
  let broker: TestBroker;
  let url = '';
  beforeAll(async () => {
    broker = await startTestBroker({ config: { Secret: SECRET, TykAPISettings: { PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } } }, profiles: [developer('existing')] });
  url = broker.url;
  }, 30_000);
  afterAll(async () => {
    await broker?.close();
  });

  it('an unknown team refuses POST and PUT with the usual envelope naming the group and the team; good teams are written', async () => {
    const bad = developer('new', { UserGroupMapping: { [DEVS]: 'Acme/Developrs' } });
    const post = await request(url).post('/api/profiles/new').set('Authorization', SECRET).send(JSON.stringify(bad));
    expect({ status: post.status, body: post.body as unknown }).toEqual({
      status: 400,
      body: { Status: 'error', Error: `invalid profile: UserGroupMapping "${DEVS}": team "Acme/Developrs": organisation "Acme" has no team named "Developrs" (did you mean "Acme/Developers"?)` },
    });
    const put = await request(url).put('/api/profiles/existing').set('Authorization', SECRET).send(JSON.stringify(developer('existing', { DefaultUserGroupID: '999' })));
    expect(put.status).toBe(400);
    expect((put.body as { Error: string }).Error).toBe('invalid profile: DefaultUserGroupID: team "999": no team has ID 999');
    expect(broker.broker.store.get('new')).toBeUndefined();
    expect(broker.broker.store.get('existing')?.DefaultUserGroupID).toBe('Acme/Testers');

    const good = await request(url).post('/api/profiles/new').set('Authorization', SECRET).send(JSON.stringify(developer('new')));
    expect(good.status).toBe(201);
    expect((good.body as { Warnings?: unknown }).Warnings).toBeUndefined();
  });

  it('a portal that cannot be asked: the write is accepted with a warning', async () => {
    portal.setAdminFault('down');
    const res = await request(url).put('/api/profiles/existing').set('Authorization', SECRET).send(JSON.stringify(developer('existing', { DefaultUserGroupID: 'Acme/Developers' })));
    expect(res.status).toBe(200);
    expect((res.body as { Warnings: string[] }).Warnings).toEqual([expect.stringContaining(`portal teams not checked: the portal at ${portal.url}/portal-api cannot be asked`)]);
  });
});
