/**
 * Explain's portal view (issue 19, item 6; src/portal/explain.ts): `explain --portal` and
 * `POST /api/profiles/{id}/explain?portal=true` show, in "idp" membership, the teams and organisation the login
 * would set, the teams dropped, and the difference from the account as it is, against the portal stand-in
 * (test/support/portal-stub.ts, validated against the published OpenAPI document), reading only.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runToolCommand } from '../../../src/cli/cli.js';
import type { CliIo } from '../../../src/cli/io.js';
import type { PortalView } from '../../../src/portal/explain.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';

const SECRET = 'portal-explain-admin-secret';
const PORTAL_SECRET = 'portal-explain-sso-secret';
const TOKEN = 'portal-explain-admin-token';
const group = (cn: string) => `cn=${cn},ou=groups,dc=example,dc=org`;

let portal: PortalStub;
let broker: TestBroker;
let url = '';
let dir = '';
let developers = 0;
let testers = 0;
let aliceId = 0;

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
  UserGroupMapping: { [group('developers')]: 'Acme/Developers', [group('testers')]: 'Acme/Testers', [group('ops')]: 'Globex/Devs' },
  Membership: { Authority: 'idp', RoleMapping: { [group('admins')]: 'consumer-admin' } },
  ...over,
});
const alice = { dn: 'uid=alice,ou=people,dc=example,dc=org', uid: 'alice', mail: 'alice@example.org', memberOf: [group('developers'), group('testers'), group('ops')] };

beforeAll(async () => {
  portal = await startPortalStub({ portalApiSecret: PORTAL_SECRET, adminToken: TOKEN });
  const acme = portal.addOrganisation('Acme');
  developers = portal.addTeam(acme.ID, 'Developers').ID;
  testers = portal.addTeam(acme.ID, 'Testers').ID;
  portal.addTeam(portal.addOrganisation('Globex').ID, 'Devs');
  aliceId = portal.addUser({ Email: 'alice@example.org', OrganisationID: acme.ID, Role: 'consumer-admin', Provider: 'password', Teams: [developers] }).ID;
  const conf = { Secret: SECRET, TykAPISettings: { PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } } };
  broker = await startTestBroker({ config: conf, profiles: [developer('dev'), developer('dev-portal', { Membership: { Authority: 'portal' } })] });
  url = broker.url;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portal-explain-'));
  await fs.writeFile(path.join(dir, 'tib.conf'), JSON.stringify(conf));
  await fs.writeFile(path.join(dir, 'profiles.json'), JSON.stringify([developer('dev')]));
  await fs.writeFile(path.join(dir, 'alice.json'), JSON.stringify(alice));
  await fs.writeFile(path.join(dir, 'carol.json'), JSON.stringify({ ...alice, dn: 'uid=carol,ou=people,dc=example,dc=org', uid: 'carol', mail: 'carol@example.org', memberOf: [group('testers')] }));
}, 30_000);
afterAll(async () => {
  await broker?.close();
  await portal?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  portal.setAdminFault('none');
  expect(portal.violations).toEqual([]);
  // Explain reads: never a write to the portal.
  expect(portal.adminCalls.filter((c) => c.method !== 'GET')).toEqual([]);
});

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env: { TYK_IB_SECRET: SECRET } };
  const code = await runToolCommand(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('explain --portal', () => {
  it('an existing account: the teams, the organisation, the dropped team and the difference, read only', async () => {
    const r = await run(['explain', '--profile', 'dev', '--claims', path.join(dir, 'alice.json'), '-p', path.join(dir, 'profiles.json'), '-c', path.join(dir, 'tib.conf'), '--portal']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n').map((l) => l.trim());
    expect(lines).toEqual(expect.arrayContaining([
      `portal      ${portal.url}/portal-api: the login would update the account`,
      expect.stringMatching(/^portal org {2}"Acme" \(ID \d+\)/),
      `portal team "Developers" (ID ${developers})  <- "Acme/Developers"`,
      `portal team "Testers" (ID ${testers})  <- "Acme/Testers"`,
      expect.stringMatching(/^dropped {5}"Globex\/Devs" {2}<- in organisation "Globex", not "Acme"/),
      expect.stringMatching(new RegExp(`^account {5}ID ${aliceId}: organisation \\d+, role "consumer-admin", active, teams \\[${developers}\\]$`)),
      'change      Role: "consumer-admin" -> "consumer-team-member"',
      `change      Teams: [${developers}] -> [${developers},${testers}]`,
    ]));
    // Unchanged by explain.
    expect(portal.users.get(aliceId)?.Teams).toEqual([developers]);
  });

  it('no account yet: the account the login would create; --url asks the broker with ?portal=true', async () => {
    const r = await run(['explain', '--profile', 'dev', '--claims', path.join(dir, 'carol.json'), '--url', url, '--portal', '--json']);
    expect(r.code).toBe(0);
    const view = (JSON.parse(r.out) as { portal: PortalView }).portal;
    expect(view).toMatchObject({ outcome: 'create', teams: [{ ref: 'Acme/Testers', id: testers, name: 'Testers' }], dropped: [] });
    expect(view.changes).toContainEqual({ field: 'Email', before: '(an email address, not shown)', after: '(an email address, not shown)' });
    expect(JSON.stringify(view)).not.toContain('carol@example.org');
    expect([...portal.users.values()].some((u) => u.Email === 'carol@example.org')).toBe(false);
  });
});

describe('POST /api/profiles/{id}/explain?portal=true', () => {
  it('gives the portal view in Data.portal; without portal=true or outside "idp" the portal is not asked', async () => {
    const res = await request(url).post('/api/profiles/dev/explain?portal=true').set('Authorization', SECRET).send(JSON.stringify(alice));
    expect(res.status).toBe(200);
    const view = (res.body as { Data: { portal: PortalView } }).Data.portal;
    expect(view).toMatchObject({ outcome: 'differs', account: { id: aliceId, teams: [developers] } });
    expect(view.changes?.map((c) => c.field)).toEqual(['Role', 'Teams']);
    expect(JSON.stringify(view)).not.toContain('alice@example.org');

    portal.adminCalls.length = 0;
    const plain = await request(url).post('/api/profiles/dev/explain').set('Authorization', SECRET).send(JSON.stringify(alice));
    expect((plain.body as { Data: { portal?: unknown } }).Data.portal).toBeUndefined();
    const other = await request(url).post('/api/profiles/dev-portal/explain?portal=true').set('Authorization', SECRET).send(JSON.stringify(alice));
    expect((other.body as { Data: { portal?: unknown } }).Data.portal).toBeUndefined();
    expect(portal.adminCalls).toEqual([]);
  });

  it('a portal that is down: the view says so, the explanation is still given', async () => {
    portal.setAdminFault('down');
    const res = await request(url).post('/api/profiles/dev/explain?portal=true').set('Authorization', SECRET).send(JSON.stringify(alice));
    expect(res.status).toBe(200);
    expect((res.body as { Data: { outcome: string; portal: PortalView } }).Data).toMatchObject({ outcome: 'allowed', portal: { outcome: 'unreachable', reason: expect.stringContaining('GET /portal-api/organisations') } });
  });
});
