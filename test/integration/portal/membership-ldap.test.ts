/**
 * "idp" membership (issue 19, item 2; src/portal/reconcile.ts) against a real slapd and the portal stand-in
 * (test/support/portal-stub.ts, its admin API validated against the published OpenAPI document): the portal
 * account follows the directory groups at every login, through the portal's documented SSO flow.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';
import { ldapProfile, startSlapd, SUFFIX, type Slapd } from '../../support/slapd.js';

const SECRET = 'portal-api-secret-for-membership';
const TOKEN = 'portal-admin-token-for-membership';
let slapd: Slapd;
let portal: PortalStub;
let broker: TestBroker;
const group = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`;

beforeAll(async () => {
  [slapd, portal] = await Promise.all([startSlapd(), startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN })]);
  const acme = portal.addOrganisation('Acme');
  portal.addTeam(acme.ID, 'Developers');
  portal.addTeam(acme.ID, 'Testers');
  const membership = { Authority: 'idp', Teams: 'all', RoleMapping: { [group('admins')]: 'consumer-admin' } };
  const profile = (id: string, over: Record<string, unknown>) =>
    ldapProfile(slapd, {
      id,
      returnUrl: `${portal.url}/sso`,
      credential: SECRET,
      profile: {
        ActionType: 'GenerateOrLoginDeveloperProfile',
        OrgID: '0',
        CustomUserGroupField: 'memberOf',
        UserGroupMapping: { [group('developers')]: 'Acme/Developers', [group('testers')]: 'Acme/Testers' },
        Membership: membership,
        ...over,
      },
    });
  broker = await startTestBroker({
    config: {
      TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } },
      BruteForce: { UsernameLimit: 0, IPLimit: 0 },
    },
    profiles: [profile('dev-idp', {}), profile('dev-portal', { Membership: { ...membership, Authority: 'portal' } })],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await portal?.close();
  await slapd?.stop();
});
afterEach(() => expect(portal.violations).toEqual([]));

async function login(id: string, username: string) {
  const res = await request(broker.url).post(`/auth/${id}/ldap`).type('form').send({ username, password: `${username}-pass` });
  expect(res.status).toBe(302);
  const landing = await fetch(res.headers.location as string);
  expect(landing.status).toBe(200);
  return portal.landings.at(-1);
}

describe('"idp" membership with LDAP groups', () => {
  it('bob (developers, testers) gets both teams, the organisation and the default role', async () => {
    const landing = await login('dev-idp', 'bob');
    const user = portal.users.get(landing?.userId ?? -1);
    const names = user?.Teams.map((t) => portal.teams.get(t)?.Name).sort();
    expect({ names, role: user?.Role, email: user?.Email }).toEqual({ names: ['Developers', 'Testers'], role: 'consumer-team-member', email: 'bob@example.org' });
  });

  it('alice (admins, developers) is a consumer admin in Developers', async () => {
    const landing = await login('dev-idp', 'alice');
    const user = portal.users.get(landing?.userId ?? -1);
    expect({ teams: user?.Teams.map((t) => portal.teams.get(t)?.Name), role: user?.Role }).toEqual({ teams: ['Developers'], role: 'consumer-admin' });
  });

  it('a second login with nothing changed writes nothing', async () => {
    await login('dev-idp', 'bob');
    portal.adminCalls.length = 0;
    await login('dev-idp', 'bob');
    expect(portal.adminCalls.filter((c) => c.method !== 'GET')).toEqual([]);
  });
});
