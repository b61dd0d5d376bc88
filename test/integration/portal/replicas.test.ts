/**
 * Two replicas on one redis-server in "idp" membership (src/state/portal-links.ts): the account one replica
 * reconciled is read directly by the other at the person's next login (no scan of the portal's users), and
 * Redis holds the link under a keyed hash, with neither the email nor the user ID in clear.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { ldapProfile, startSlapd, SUFFIX, type Slapd } from '../../support/slapd.js';

const SECRET = 'portal-api-secret-for-replicas';
const TOKEN = 'portal-admin-token-for-replicas';
let redis: TestRedis;
let slapd: Slapd;
let portal: PortalStub;
const brokers: TestBroker[] = [];

beforeAll(async () => {
  [redis, slapd, portal] = await Promise.all([startRedis(), startSlapd(), startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN })]);
  const acme = portal.addOrganisation('Acme');
  portal.addTeam(acme.ID, 'Developers');
  // Many other people first: a scan by email would read several pages.
  for (let i = 0; i < 250; i++) portal.addUser({ Email: `someone-${i}@example.net` });
  const profile = ldapProfile(slapd, {
    id: 'dev',
    returnUrl: `${portal.url}/sso`,
    credential: SECRET,
    profile: {
      ActionType: 'GenerateOrLoginDeveloperProfile',
      OrgID: '0',
      CustomUserGroupField: 'memberOf',
      UserGroupMapping: { [`cn=developers,ou=groups,${SUFFIX}`]: 'Acme/Developers' },
      Membership: { Authority: 'idp' },
    },
  });
  for (let i = 0; i < 2; i++) {
    brokers.push(
      await startTestBroker({
        config: {
          BackEnd: { Name: 'redis', KeyPrefix: 'tib:', IdentityBackendSettings: { Host: redis.host, Port: redis.port } },
          TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } },
          BruteForce: { UsernameLimit: 0, IPLimit: 0 },
        },
        profiles: [profile],
      }),
    );
  }
}, 60_000);
afterAll(async () => {
  await Promise.all(brokers.map((b) => b.close()));
  await portal?.close();
  await slapd?.stop();
  await redis?.stop();
});

const login = async (b: TestBroker) => {
  const res = await request(b.url).post('/auth/dev/ldap').type('form').send({ username: 'bob', password: 'bob-pass' });
  expect(res.status).toBe(302);
  expect((await fetch(res.headers.location as string)).status).toBe(200);
};
const scans = () => portal.adminCalls.filter((c) => c.method === 'GET' && c.path.startsWith('/portal-api/users?'));

describe('"idp" membership across replicas', () => {
  it('the second replica reads the account the first reconciled, without scanning the users', async () => {
    const [a, b] = brokers as [TestBroker, TestBroker];
    await login(a);
    expect(scans().length).toBeGreaterThan(2); // 250 people before bob: three pages and the empty one
    const bob = [...portal.users.values()].find((u) => u.Email === 'bob@example.org');
    expect(bob?.Teams.length).toBe(1);
    portal.adminCalls.length = 0;
    await login(b);
    expect(scans()).toEqual([]);
    expect(portal.adminCalls.map((c) => `${c.method} ${c.path}`)).toContain(`GET /portal-api/users/${bob?.ID}`);
    expect(portal.violations).toEqual([]);
  });

  it('Redis holds the link under a keyed hash: no email, no user ID, no account in clear', async () => {
    const keys = (await redis.cli('--scan', '--pattern', 'tib:portal-link:*')).trim().split('\n').filter(Boolean);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toMatch(/bob|example/);
    const ttl = Number((await redis.cli('TTL', keys[0] as string)).trim());
    expect(ttl).toBeGreaterThan(80 * 24 * 3600);
  });
});
