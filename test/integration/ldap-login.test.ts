/**
 * LDAP login end to end against a real slapd and the recording Tyk stub (issue 3): form posts to the
 * dashboard and the portal with group -> team mapping, every failure mode within its timeouts, injection
 * inputs, LDAPS and StartTLS with certificate verification, the service account, the Basic header,
 * SlugifyUserName, group search, and 200 concurrent logins on the pooled service account.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { freePort, ROOT_DN, SERVICE_DN, SERVICE_PW, SPECIAL_UID, startSlapd, SUFFIX, type Slapd } from '../support/slapd.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-ldap-tests';
const ADMIN = 'dashboard-admin-secret-for-ldap-tests';
const group = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`;
const MAPPING = { [group('admins')]: 'tyk-admins', [group('developers')]: 'tyk-developers', [group('testers')]: 'tyk-testers' };

let slapd: Slapd;
let stub: TykStub;
let broker: TestBroker;
let closedPort: number;

function profile(id: string, over: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}) {
  return {
    ID: id,
    Name: `LDAP ${id}`,
    OrgID: 'org-1',
    ActionType: 'GenerateOrLoginUserProfile',
    ProviderName: 'ADProvider',
    ReturnURL: `${stub.url}/tap`,
    IdentityHandlerConfig: { DashboardCredential: CRED },
    CustomUserGroupField: 'memberOf',
    UserGroupMapping: MAPPING,
    ...over,
    ProviderConfig: {
      LDAPServer: '127.0.0.1',
      LDAPPort: String(slapd.port),
      LDAPAdminUser: SERVICE_DN,
      LDAPAdminPassword: SERVICE_PW,
      LDAPBaseDN: `ou=people,${SUFFIX}`,
      LDAPFilter: '(&(objectClass=inetOrgPerson)(uid=*USERNAME*))',
      LDAPSearchScope: 2,
      LDAPTimeout: 3000,
      LDAPConnectTimeout: 1000,
      ...providerConfig,
    },
  };
}

beforeAll(async () => {
  [slapd, stub, closedPort] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN }), freePort()]);
  const direct = { LDAPAdminUser: undefined, LDAPAdminPassword: undefined, LDAPUserDN: `uid=*USERNAME*,ou=people,${SUFFIX}`, LDAPFilter: '', LDAPBaseDN: '', LDAPSearchScope: 0 };
  broker = await startTestBroker({
    config: { TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, Timeout: 1 } },
    profiles: [
      profile('admins'),
      profile('portal', { ActionType: 'GenerateOrLoginDeveloperProfile', ReturnURL: `${stub.url}/portal/sso/` }, direct),
      profile('ldaps', {}, { LDAPUseSSL: true, LDAPPort: String(slapd.ldapsPort), LDAPCAFile: slapd.ca.caCert }),
      profile('starttls', {}, { LDAPStartTLS: true, LDAPCAFile: slapd.ca.caCert }),
      profile('wrong-ca', {}, { LDAPStartTLS: true, LDAPCAFile: slapd.otherCa.caCert }),
      profile('basic', {}, { GetAuthFromBAHeader: true }),
      profile('slug', { ActionType: 'GenerateOrLoginDeveloperProfile', ReturnURL: `${stub.url}/portal/sso/` }, { SlugifyUserName: true }),
      profile('down', {}, { LDAPPort: String(closedPort) }),
      profile('redirecting', {}, { FailureRedirect: `${stub.url}/login-failed` }),
      profile('contractors', { CustomUserGroupField: 'teams', UserGroupMapping: { 'api-partners': 'partners' } }, {
        LDAPBaseDN: `ou=contractors,${SUFFIX}`,
        LDAPGroupBaseDN: `ou=teams,${SUFFIX}`,
        LDAPGroupFilter: '(&(objectClass=posixGroup)(memberUid=*USERNAME*))',
      }),
      profile('admins-only', { ProviderConstraints: { Domain: 'example.org', Group: group('admins') } }),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await stub?.close();
  await slapd?.stop();
});
beforeEach(() => stub.reset());

const login = (id: string, username: string, password: string) => request(broker.url).post(`/auth/${id}/ldap`).type('form').send({ username, password });
const ssoCalls = () => stub.requests.filter((r) => r.path === '/api/sso');

function expectLoginFailed(res: request.Response, status = 401) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ Status: 'error', Error: 'Login failed' });
  expect(ssoCalls()).toHaveLength(0);
}

describe('dashboard login (service account)', () => {
  it('a form POST ends in 302 to ReturnURL?nonce=<nonce> with every mapped team sent to /api/sso', async () => {
    const res = await login('admins', 'alice', 'alice-pass');
    expect(res.status).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.location).toBe(`${stub.url}/tap?nonce=${stub.issuedNonces.at(-1)}`);
    const [sso] = ssoCalls();
    expect(sso?.headers.authorization).toBe(CRED);
    expect(sso?.body).toEqual({
      ForSection: 'dashboard',
      OrgID: 'org-1',
      EmailAddress: 'alice@example.org',
      DisplayName: 'Alice Admin',
      GroupID: 'tyk-admins',
      GroupsIDs: ['tyk-admins', 'tyk-developers'],
      SSOOnlyForRegisteredUsers: false,
    });
  });

  it('works with the README callback URL and a multipart form too', async () => {
    const res = await request(broker.url).post('/auth/admins/callback').field('username', 'bob').field('password', 'bob-pass');
    expect(res.status).toBe(302);
    expect(ssoCalls()[0]?.body).toMatchObject({ EmailAddress: 'bob@example.org', GroupsIDs: ['tyk-developers', 'tyk-testers'] });
  });

  it("falls back to TIB's <user>@<OrgID>-ADProvider.com without a mail attribute", async () => {
    expect((await login('admins', 'dave', 'dave-pass')).status).toBe(302);
    expect(ssoCalls()[0]?.body).toMatchObject({ EmailAddress: 'dave@org-1-ADProvider.com', GroupsIDs: [] });
  });
});

describe('portal login (direct bind)', () => {
  it('creates the developer once and updates it on the next login', async () => {
    const first = await login('portal', 'bob', 'bob-pass');
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe(`${stub.url}/portal/sso/?nonce=${stub.issuedNonces.at(-1)}`);
    expect(ssoCalls()[0]?.body).toMatchObject({ ForSection: 'portal', GroupsIDs: ['tyk-developers', 'tyk-testers'] });
    expect(stub.requests.map((r) => r.method + ' ' + r.path)).toContain('POST /api/portal/developers');
    stub.reset();
    expect((await login('portal', 'bob', 'bob-pass')).status).toBe(302);
    expect(stub.requests.map((r) => r.method + ' ' + r.path.replace(/[0-9a-f]{24}$/, '<id>'))).toEqual([
      'POST /api/sso',
      'GET /api/portal/developers/ssokey/bob%40ADProvider.com',
      'PUT /api/portal/developers/<id>',
    ]);
  });

  it('SlugifyUserName slugs the user id used for the SSO key', async () => {
    expect((await login('slug', 'Zoë Müller', 'zoe-pass')).status).toBe(302);
    expect(stub.requests[1]?.path).toBe('/api/portal/developers/ssokey/zoe-muller%40ADProvider.com');
  });
});

describe('failures', () => {
  it('wrong password and unknown user are indistinguishable', async () => {
    const wrong = await login('admins', 'alice', 'nope');
    const unknown = await login('admins', 'mallory', 'nope');
    expectLoginFailed(wrong);
    expectLoginFailed(unknown);
    expect(wrong.text).toBe(unknown.text);
    expectLoginFailed(await login('portal', 'alice', 'nope'));
    expectLoginFailed(await login('portal', 'mallory', 'nope'));
  });

  it('blank passwords never reach a bind (they would be unauthenticated binds)', async () => {
    const before = await slapd.totalConnections();
    for (const pw of ['', '   ']) {
      expectLoginFailed(await login('admins', 'alice', pw));
      expectLoginFailed(await login('portal', 'alice', pw));
    }
    expect(broker.logs.some((l) => l.includes('blank password refused before any bind'))).toBe(true);
    expect(await slapd.totalConnections()).toBe(before + 1); // only the monitor query itself
  });

  it('a locked-out account cannot log in', async () => {
    expectLoginFailed(await login('admins', 'locked', 'locked-pass'));
  });

  it('a password in the query string is refused', async () => {
    const res = await request(broker.url).get('/auth/admins/ldap?username=alice&password=alice-pass');
    expect(res.status).toBe(400);
    expect(ssoCalls()).toHaveLength(0);
  });

  it('a directory that is down gives 503 quickly, and a FailureRedirect profile redirects', async () => {
    const t = Date.now();
    expectLoginFailed(await login('down', 'alice', 'alice-pass'), 503);
    expect(Date.now() - t).toBeLessThan(5000);
    const r = await login('redirecting', 'alice', 'wrong');
    expect([r.status, r.headers.location, r.headers['cache-control']]).toEqual([302, `${stub.url}/login-failed`, 'no-store']);
  });

  it('a portal answering 500 or 401, or never answering, ends in the failure response within the timeout', async () => {
    stub.failNext('/api/sso', 500);
    let r = await login('admins', 'alice', 'alice-pass');
    expect([r.status, r.body.Error]).toEqual([502, 'Login failed']);
    stub.failNext('/api/sso', 401);
    r = await login('admins', 'alice', 'alice-pass');
    expect(r.status).toBe(502);
    expect(stub.requests.filter((q) => q.path === '/admin/sso')).toHaveLength(0);
    stub.failNext('/api/sso', 'hang');
    const t = Date.now();
    r = await login('admins', 'alice', 'alice-pass');
    expect([r.status, r.body.Error]).toEqual([504, 'Login failed']);
    expect(Date.now() - t).toBeLessThan(5000);
  });

  it('each failure is logged once, with a reason and without the password', async () => {
    const mark = broker.logs.length;
    await login('admins', 'alice', 'a-very-distinct-wrong-password');
    const lines = broker.logs.slice(mark).filter((l) => l.includes('login failed'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('wrong password');
    expect(broker.logs.join('\n')).not.toMatch(/a-very-distinct-wrong-password|alice-pass|service-account-password|dashboard-credential-for-ldap-tests/);
  });
});

describe('injection inputs never authenticate or widen the search', () => {
  const inputs = ['*', '*)(uid=*', 'admin)(|(uid=*', 'alice)(|(uid=*', '\u0000', 'alice\u0000', 'al*', SPECIAL_UID.replace('\\', ''), ',+"\\<>;', `alice,ou=people,${SUFFIX}`];
  it.each(inputs)('%j', async (username) => {
    for (const id of ['admins', 'portal']) {
      for (const password of ['alice-pass', 'special-pass', 'x']) {
        expectLoginFailed(await login(id, username, password));
      }
    }
  });

  it('the DN-special user itself logs in on both paths (escaped correctly)', async () => {
    expect((await login('admins', SPECIAL_UID, 'special-pass')).status).toBe(302);
    expect((await login('portal', SPECIAL_UID, 'special-pass')).status).toBe(302);
  });
});

describe('transport security and options', () => {
  it('LDAPS verifies the server certificate against LDAPCAFile', async () => {
    expect((await login('ldaps', 'alice', 'alice-pass')).status).toBe(302);
  });

  it('StartTLS verifies the certificate and the host name (the IP address SAN)', async () => {
    expect((await login('starttls', 'alice', 'alice-pass')).status).toBe(302);
  });

  it('a certificate from another CA is refused (503, no bind)', async () => {
    const r = await login('wrong-ca', 'alice', 'alice-pass');
    expectLoginFailed(r, 503);
    expect(broker.logs.some((l) => /login failed.*directory unreachable/.test(l))).toBe(true);
  });

  it('takes credentials from the Basic header, with a colon in the password allowed', async () => {
    const ok = await request(broker.url).get('/auth/basic/ldap').auth('alice', 'alice-pass');
    expect(ok.status).toBe(302);
    const none = await request(broker.url).get('/auth/basic/ldap');
    expect([none.status, none.headers['www-authenticate']]).toEqual([401, 'Basic realm="basic", charset="UTF-8"']);
    stub.reset();
    expectLoginFailed(await request(broker.url).get('/auth/basic/ldap').auth('alice', 'alice-pass:extra'));
  });

  it('group search for directories without memberOf', async () => {
    expect((await login('contractors', 'erin', 'erin-pass')).status).toBe(302);
    expect(ssoCalls()[0]?.body).toMatchObject({ GroupsIDs: ['partners'] });
  });

  it('ProviderConstraints.Group is enforced', async () => {
    expect((await login('admins-only', 'alice', 'alice-pass')).status).toBe(302);
    stub.reset();
    const r = await login('admins-only', 'bob', 'bob-pass');
    expect([r.status, r.body]).toEqual([400, { Status: 'error', Error: 'Constraint failed' }]);
    expect(ssoCalls()).toHaveLength(0);
  });
});

describe('load', () => {
  it('200 concurrent logins succeed on a bounded pool of service-account connections', async () => {
    const before = await slapd.totalConnections();
    const users = [['alice', 'alice-pass'], ['bob', 'bob-pass'], ['carol', 'carol-pass']] as const;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => login('admins', users[i % 3]![0], users[i % 3]![1])));
    expect(results.filter((r) => r.status === 302)).toHaveLength(200);
    expect(ssoCalls()).toHaveLength(200);
    // The pool holds at most 10 connections (LDAPPoolSize default); +1 for the monitor query.
    expect((await slapd.totalConnections()) - before).toBeLessThanOrEqual(11);
    expect(ROOT_DN).toContain('admin');
  }, 60_000);
});
