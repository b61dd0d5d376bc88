/**
 * The LDAP provider's two pools (issue 12), counted by slapd itself (cn=Monitor): with a service account,
 * searches run on connections that stay bound as it and user binds on connections of their own, so once the
 * pools are warm a login costs the directory exactly one bind (the user's), right or wrong password, and no
 * new connection; LDAPPoolSize bounds both pools together.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { ldapProfile, SERVICE_DN, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-ldap-pools';
const ADMIN = 'dashboard-admin-secret-for-ldap-pools';

let slapd: Slapd;
let stub: TykStub;
let broker: TestBroker;

beforeAll(async () => {
  [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
  broker = await startTestBroker({
    config: { TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [ldapProfile(slapd, { id: 'pools', returnUrl: `${stub.url}/tap`, credential: CRED, providerConfig: { LDAPPoolSize: 4 } })],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await stub?.close();
  await slapd?.stop();
});

const login = (username: string, password: string) => request(broker.url).post('/auth/pools/ldap').type('form').send({ username, password });

it('a warm login costs one bind, the user\'s: no bind back to the service account, no new connection', async () => {
  expect((await login('alice', 'alice-pass')).status).toBe(302);
  const [binds, connections] = [await slapd.binds(), await slapd.totalConnections()];
  for (let i = 0; i < 5; i++) expect((await login(i % 2 ? 'bob' : 'alice', i % 2 ? 'bob-pass' : 'alice-pass')).status).toBe(302);
  for (let i = 0; i < 3; i++) expect((await login('carol', `wrong-${i}`)).status).toBe(401);
  expect((await slapd.binds()) - binds).toBe(8);
  // +2: the monitor queries themselves (the bind count's, and this count's own).
  expect((await slapd.totalConnections()) - connections).toBe(2);
  // The search connection is still the service account's.
  expect((await slapd.boundAs()).filter((dn) => dn.toLowerCase() === SERVICE_DN.toLowerCase())).toHaveLength(1);
});

it('a burst stays within LDAPPoolSize connections for both pools together', async () => {
  const before = await slapd.totalConnections();
  const users = [['alice', 'alice-pass'], ['bob', 'bob-pass'], ['carol', 'carol-pass']] as const;
  const results = await Promise.all(Array.from({ length: 60 }, (_, i) => login(users[i % 3]![0], users[i % 3]![1])));
  expect(results.filter((r) => r.status === 302)).toHaveLength(60);
  // At most 4 connections over the pools' life (2 searches, 2 binds), 2 of them opened by the first test; +1 monitor query.
  expect((await slapd.totalConnections()) - before).toBeLessThanOrEqual(2 + 1);
}, 30_000);

describe('a directory that closes idle connections (slapd idletimeout 1)', () => {
  const CRED = 'dashboard-credential-for-idle-tests';
  const ADMIN = 'dashboard-admin-secret-for-idle-tests';
  let slapd: Slapd;
  let stub: TykStub;
  let broker: TestBroker;
  const profile = (id: string, extra: Record<string, unknown>) => ldapProfile(slapd, { id, orgId: 'org-idle', returnUrl: `${stub.url}/tap`, credential: CRED, providerConfig: extra });
  beforeAll(async () => {
    [slapd, stub] = await Promise.all([startSlapd({ idleTimeout: 1 }), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
    broker = await startTestBroker({
      config: { TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: [
        profile('plain', {}),
        profile('starttls', { LDAPStartTLS: true, LDAPCAFile: slapd.ca.caCert }),
        profile('ldaps', { LDAPUseSSL: true, LDAPPort: String(slapd.ldapsPort), LDAPCAFile: slapd.ca.caCert }),
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await broker?.close();
    await stub?.close();
    await slapd?.stop();
  });

  // Before the fix the StartTLS login waited out LDAPTimeout on the dead socket and answered 504.
  it.each(['plain', 'starttls', 'ldaps'])('%s: the next login after the directory dropped the pooled connection succeeds', async (id) => {
    const login = () => request(broker.url).post(`/auth/${id}/ldap`).type('form').send({ username: 'alice', password: 'alice-pass' });
    expect((await login()).status).toBe(302);
    await new Promise((r) => setTimeout(r, 2500)); // slapd checks idle connections every idletimeout/2 s
    expect((await login()).status).toBe(302);
    expect((await login()).status).toBe(302);
  }, 20_000);
});
