/**
 * LDAP login end to end against a real slapd and the recording Tyk stub (issue 3): form posts to the
 * dashboard and the portal with group -> team mapping, every failure mode within its timeouts (a directory
 * that never answers included), injection inputs, LDAPS and StartTLS with certificate and host-name
 * verification, the service account, the Basic header, SlugifyUserName, group search, the login page's
 * anti-framing headers, and 200 concurrent logins (and runs of failed ones) on the pooled service account.
 */
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { freePort, ldapProfile, PROBE_DN, PROBE_PW, ROOT_DN, SPECIAL_UID, startSlapd, SUFFIX, UNNAMED_ADDRESS, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-ldap-tests';
const ADMIN = 'dashboard-admin-secret-for-ldap-tests';
const group = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`;
const MAPPING = { [group('admins')]: 'tyk-admins', [group('developers')]: 'tyk-developers', [group('testers')]: 'tyk-testers' };

let slapd: Slapd;
let stub: TykStub;
let broker: TestBroker;
let closedPort: number;
let silent: SilentDirectory;
let stallsTls: SilentDirectory;

/** A "directory" that accepts connections and reads, but never answers; the connections it saw, closed or not. */
interface SilentDirectory {
  port: number;
  /** One promise per accepted connection, resolved when the broker's side closes it. */
  closed: Array<Promise<void>>;
  close(): Promise<void>;
}

/** LDAPMessage { same messageID, ExtendedResponse { success, "", "" } }: the StartTLS "go ahead". */
function extendedSuccess(request: Buffer): Buffer {
  // The request starts 30 <len> 02 <idLen> <id...> (a StartTLS request is short: one-byte lengths).
  const id = request.subarray(2, 4 + (request[3] ?? 0));
  const op = Buffer.from([0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]);
  return Buffer.concat([Buffer.from([0x30, id.length + op.length]), id, op]);
}

/** With `answerStartTls` it says yes to StartTLS, then never takes part in the TLS handshake. */
async function startSilentDirectory(answerStartTls = false): Promise<SilentDirectory> {
  const closed: Array<Promise<void>> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    closed.push(new Promise((resolve) => socket.on('close', () => resolve())));
    socket.on('error', () => undefined);
    socket.once('data', (first) => {
      if (answerStartTls) socket.write(extendedSuccess(first));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    closed,
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function profile(id: string, over: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}) {
  return ldapProfile(slapd, {
    id,
    name: `LDAP ${id}`,
    returnUrl: `${stub.url}/tap`,
    credential: CRED,
    profile: { CustomUserGroupField: 'memberOf', UserGroupMapping: MAPPING, ...over },
    providerConfig: { LDAPTimeout: 3000, LDAPConnectTimeout: 1000, ...providerConfig },
  });
}

beforeAll(async () => {
  [slapd, stub, closedPort, silent, stallsTls] = await Promise.all([
    startSlapd(),
    startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN }),
    freePort(),
    startSilentDirectory(),
    startSilentDirectory(true),
  ]);
  const direct = { LDAPAdminUser: undefined, LDAPAdminPassword: undefined, LDAPUserDN: `uid=*USERNAME*,ou=people,${SUFFIX}`, LDAPFilter: '', LDAPBaseDN: '', LDAPSearchScope: 0 };
  const quick = { LDAPTimeout: 1000, LDAPConnectTimeout: 1000 };
  // Matches the user and bob (sn=Builder): two entries for everyone but bob.
  const withBob = '(&(objectClass=inetOrgPerson)(|(uid=*USERNAME*)(sn=Builder)))';
  broker = await startTestBroker({
    config: {
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, Timeout: 1 },
      // These tests fail many logins on purpose (pool reuse, timing): lockouts are tested in ldap-lockout.test.ts.
      BruteForce: { UsernameLimit: 0, IPLimit: 0 },
    },
    profiles: [
      profile('admins'),
      profile('portal', { ActionType: 'GenerateOrLoginDeveloperProfile', ReturnURL: `${stub.url}/portal/sso/` }, direct),
      profile('portal-search', { ActionType: 'GenerateOrLoginDeveloperProfile', ReturnURL: `${stub.url}/portal/sso/` }),
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
      profile('silent', {}, { ...quick, LDAPPort: String(silent.port) }),
      profile('silent-ldaps', {}, { ...quick, LDAPPort: String(silent.port), LDAPUseSSL: true, LDAPCAFile: slapd.ca.caCert }),
      profile('stalled-starttls', {}, { ...quick, LDAPPort: String(stallsTls.port), LDAPStartTLS: true, LDAPCAFile: slapd.ca.caCert }),
      profile('unnamed-plain', {}, { LDAPServer: UNNAMED_ADDRESS }),
      profile('unnamed-ldaps', {}, { LDAPServer: UNNAMED_ADDRESS, LDAPUseSSL: true, LDAPPort: String(slapd.ldapsPort), LDAPCAFile: slapd.ca.caCert }),
      profile('unnamed-starttls', {}, { LDAPServer: UNNAMED_ADDRESS, LDAPStartTLS: true, LDAPCAFile: slapd.ca.caCert }),
      profile('ambiguous', {}, { LDAPFilter: withBob }),
      profile('probe', {}, { LDAPAdminUser: PROBE_DN, LDAPAdminPassword: PROBE_PW, LDAPPoolSize: 1 }),
      profile('ambiguous-direct', { ActionType: 'GenerateOrLoginDeveloperProfile', ReturnURL: `${stub.url}/portal/sso/` }, { ...direct, LDAPBaseDN: `ou=people,${SUFFIX}`, LDAPFilter: withBob, LDAPSearchScope: 2 }),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await stub?.close();
  await slapd?.stop();
  await silent?.close();
  await stallsTls?.close();
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

describe('the user id is the directory entry\'s spelling of the username', () => {
  const ssoKeys = () => stub.requests.filter((r) => r.path.startsWith('/api/portal/developers/ssokey/')).map((r) => decodeURIComponent(r.path.split('/').pop() as string));
  const ZOE = 'Zoë Müller';

  // Before: " ALICE " and "alice" found the same entry but made two developers (TIB's behaviour).
  it.each([
    ['portal', 'direct bind'],
    ['portal-search', 'service-account search'],
  ])('%s (%s): any case, spaces or Unicode form of a username is one portal developer', async (id) => {
    const spellings: Array<[string, string, string]> = [
      ['alice', 'alice-pass', 'alice'],
      [' ALICE ', 'alice-pass', 'alice'],
      ['Alice', 'alice-pass', 'alice'],
      [ZOE, 'zoe-pass', ZOE],
      [ZOE.normalize('NFD'), 'zoe-pass', ZOE],
      [` ${ZOE.toUpperCase().normalize('NFD')}`, 'zoe-pass', ZOE],
    ];
    for (const [typed, password, stored] of spellings) {
      stub.reset();
      expect((await login(id, typed, password)).status).toBe(302);
      expect(ssoKeys()).toEqual([`${stored}@ADProvider.com`]);
    }
  });

  it("TIB's fallback email and the group search use the directory's spelling too", async () => {
    expect((await login('admins', ' DAVE ', 'dave-pass')).status).toBe(302);
    expect(ssoCalls()[0]?.body).toMatchObject({ EmailAddress: 'dave@org-1-ADProvider.com' });
    stub.reset();
    // memberUid is compared case-sensitively (caseExactMatch): the typed "ERIN" would find no team.
    expect((await login('contractors', 'ERIN', 'erin-pass')).status).toBe(302);
    expect(ssoCalls()[0]?.body).toMatchObject({ GroupsIDs: ['partners'] });
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

  it('a filter matching two entries is refused like an unknown user, on both paths', async () => {
    const unknown = await login('ambiguous', 'mallory', 'nope');
    for (const id of ['ambiguous', 'ambiguous-direct']) {
      const mark = broker.logs.length;
      const r = await login(id, 'alice', 'alice-pass');
      expectLoginFailed(r);
      expect(r.text).toBe(unknown.text);
      expect(broker.logs.slice(mark).some((l) => l.includes('the filter matches several entries'))).toBe(true);
      // The same profile logs in the one user it finds exactly once.
      expect((await login(id, 'bob', 'bob-pass')).status).toBe(302);
      stub.reset();
    }
  });

  it('a portal failure on a FailureRedirect profile ends in 302 to FailureRedirect', async () => {
    for (const outcome of [500, 'hang'] as const) {
      stub.failNext('/api/sso', outcome);
      const r = await login('redirecting', 'alice', 'alice-pass');
      expect([r.status, r.headers.location, r.headers['cache-control']]).toEqual([302, `${stub.url}/login-failed`, 'no-store']);
      expect(ssoCalls()).toHaveLength(1);
      stub.reset();
    }
  });

  // The test timeout is the bound: LDAPTimeout and LDAPConnectTimeout are 1 s on these profiles.
  it.each([
    ['never answers a bind', 'silent', () => silent],
    ['never completes the LDAPS handshake', 'silent-ldaps', () => silent],
    ['agrees to StartTLS, then never completes the handshake', 'stalled-starttls', () => stallsTls],
  ])(
    'a directory that %s: 504 within the timeouts, its connection closed',
    async (_what, id, server) => {
      const seen = server().closed.length;
      expectLoginFailed(await login(id, 'alice', 'alice-pass'), 504);
      expect(server().closed.length).toBeGreaterThan(seen);
      await Promise.all(server().closed.slice(seen));
    },
    10_000,
  );

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
  // '\\00' and '\\2a' are the literal escapes (backslash, two hex digits), which must not be decoded.
  const inputs = ['*', '*)(uid=*', 'admin)(|(uid=*', 'alice)(|(uid=*', '\u0000', 'alice\u0000', '\\00', 'alice\\00', '\\2a', 'al*', SPECIAL_UID.replace('\\', ''), ',+"\\<>;', `alice,ou=people,${SUFFIX}`];
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

  it.each(['unnamed-ldaps', 'unnamed-starttls'])('%s: a certificate that does not name the address dialled is refused', async (id) => {
    // Same directory, same CA: over plain LDAP the address works, so only the name check can refuse.
    expect((await login('unnamed-plain', 'alice', 'alice-pass')).status).toBe(302);
    stub.reset();
    const mark = broker.logs.length;
    expectLoginFailed(await login(id, 'alice', 'alice-pass'), 503);
    expect(broker.logs.slice(mark).some((l) => /login failed.*ERR_TLS_CERT_ALTNAME_INVALID/.test(l))).toBe(true);
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
    // Split on the first colon only: a password with colons in it logs in (TIB refuses it).
    const colons = await request(broker.url).get('/auth/basic/ldap').auth('colin', 'colon:in:password');
    expect(colons.status).toBe(302);
    expect(ssoCalls()[0]?.body).toMatchObject({ EmailAddress: 'colin@example.org' });
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

describe('the built-in login page', () => {
  it('is frame-proof when served and when served again after a failure', async () => {
    const page = await request(broker.url).get('/auth/admins/ldap').set('Accept', 'text/html');
    const wrong = await login('admins', 'alice', 'nope').set('Accept', 'text/html');
    const down = await login('down', 'alice', 'alice-pass').set('Accept', 'text/html');
    expect([page.status, wrong.status, down.status]).toEqual([200, 401, 503]);
    expect(wrong.text).toContain('role="alert"');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    for (const failed of [wrong, down]) {
      expect(failed.headers['content-type']).toMatch(/^text\/html/);
      expect(failed.headers['content-security-policy']).toBe(page.headers['content-security-policy']);
      expect(failed.headers['x-frame-options']).toBe('DENY');
    }
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

  it('failed logins reuse pooled connections (bind and revert), and a good login right after works', async () => {
    // Warm both pools, so that what follows is counted from connections already open.
    for (const id of ['admins', 'portal']) expect((await login(id, 'bob', 'bob-pass')).status).toBe(302);
    stub.reset();
    const before = await slapd.totalConnections();
    for (let i = 0; i < 10; i++) {
      for (const id of ['admins', 'portal']) {
        expectLoginFailed(await login(id, 'alice', `wrong-${i}`));
        expectLoginFailed(await login(id, `nobody-${i}`, 'x'));
      }
    }
    expect(await slapd.totalConnections()).toBe(before + 1); // only the monitor query itself
    // A parallel burst stays within the pool bound (10) instead of a connection per attempt.
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => login('admins', i % 2 ? 'alice' : `nobody-${i}`, 'wrong')));
    burst.forEach((r) => expectLoginFailed(r));
    expect((await slapd.totalConnections()) - before - 2).toBeLessThanOrEqual(10);
    const after = await slapd.totalConnections();
    expect((await login('admins', 'alice', 'alice-pass')).status).toBe(302);
    expect((await login('portal', 'alice', 'alice-pass')).status).toBe(302);
    expect(await slapd.totalConnections()).toBe(after + 1);
  }, 30_000);

  it('a pooled connection goes back bound as the service account, whatever the login did (bind and revert)', async () => {
    // The probe profile alone binds as PROBE_DN, on a pool of one connection.
    const probeConnections = async () => (await slapd.boundAs()).filter((dn) => dn.toLowerCase() === PROBE_DN.toLowerCase()).length;
    expectLoginFailed(await login('probe', 'alice', 'wrong'));
    expect(await probeConnections()).toBe(1);
    expectLoginFailed(await login('probe', 'nobody', 'wrong'));
    expect(await probeConnections()).toBe(1);
    expect((await login('probe', 'alice', 'alice-pass')).status).toBe(302);
    expect(await probeConnections()).toBe(1);
  });
});

describe('a filter that accepts two usernames for one entry: (|(uid=*USERNAME*)(mail=*USERNAME*))', () => {
  // Active Directory style: sign in with the short name or the principal name (here uid or mail).
  const CRED = 'dashboard-credential-for-either-tests';
  const ADMIN = 'dashboard-admin-secret-for-either-tests';
  let slapd: Slapd;
  let stub: TykStub;
  let broker: TestBroker;
  const profile = (id: string, filter: string) =>
    ldapProfile(slapd, { id, orgId: 'org-either', actionType: 'GenerateOrLoginDeveloperProfile', returnUrl: `${stub.url}/tap`, credential: CRED, providerConfig: { LDAPFilter: filter } });
  beforeAll(async () => {
    [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
    broker = await startTestBroker({
      config: { TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: [profile('uid-first', '(&(objectClass=inetOrgPerson)(|(uid=*USERNAME*)(mail=*USERNAME*)))'), profile('mail-first', '(|(mail=*USERNAME*)(uid=*USERNAME*))')],
    });
  }, 60_000);
  afterAll(async () => {
    await broker?.close();
    await stub?.close();
    await slapd?.stop();
  });
  const ssoKeys = () => stub.requests.filter((r) => r.path.startsWith('/api/portal/developers/ssokey/')).map((r) => decodeURIComponent(r.path.split('/').pop() as string));

  it('a blank, starred or parenthesised username is an ordinary failed login', async () => {
    for (const typed of ['', '   ', '*', 'al*', ')(uid=*', 'alice)(|(uid=*']) {
      const res = await request(broker.url).post('/auth/uid-first/ldap').type('form').send({ username: typed, password: 'alice-pass' });
      expect([typed, res.status, res.body]).toEqual([typed, 401, { Status: 'error', Error: 'Login failed' }]);
    }
  });

  // Before: the typed text picked the attribute, so "alice" and "alice@example.org" were two portal developers.
  it.each([
    ['uid-first', 'alice'],
    ['mail-first', 'alice@example.org'],
  ])('%s: either username is one developer, named by the first attribute of the filter', async (id, stored) => {
    for (const typed of ['alice', 'alice@example.org', ' ALICE@example.org ']) {
      stub.reset();
      const res = await request(broker.url).post(`/auth/${id}/ldap`).type('form').send({ username: typed, password: 'alice-pass' });
      expect([typed, res.status, ssoKeys()]).toEqual([typed, 302, [`${stored}@ADProvider.com`]]);
    }
  });
});
