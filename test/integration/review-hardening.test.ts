/**
 * Second review of issue 8 (hardening), probing it as an outside checker would: hostile profile values
 * against the AllowedIdPHosts allow-list, and token endpoints that refuse client authentication in the
 * ways real servers do (401 without a JSON body, invalid_client sent as text/html).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { redact, setOwnedSecrets } from '../../src/log.js';
import { hostAllowed } from '../../src/config/allowed-hosts.js';
import { loadProfilesFile, removeStaleTempFiles, saveProfilesFile } from '../../src/profiles/file-store.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { CookieJar, fetchWithJar } from '../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../support/oidc-op.js';
import { freePort, serviceAccountSearch, startSlapd, type Slapd } from '../support/slapd.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const SECRET = 'review-hardening-admin-secret';
const ldap = (id: string, server: string) => ({
  ID: id,
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://dash.example.com/tap',
  IdentityHandlerConfig: { DashboardCredential: 'dash-credential-value' },
  ProviderConfig: { LDAPServer: server, LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' },
});

describe('AllowedIdPHosts cannot be bypassed through LDAPServer', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.close();
    b = undefined;
  });
  const post = (p: ReturnType<typeof ldap>) => request((b as TestBroker).url).post(`/api/profiles/${p.ID}`).set('Authorization', SECRET).send(p);

  // The LDAP URL is ldap://<LDAPServer>:<port>: a '#', '?', '/' or '@' in LDAPServer ends the host part, so
  // the suffix check saw ".corp.example" while the broker would have connected to 127.0.0.1.
  it('refuses an LDAPServer that is not a plain host name or IP address, naming the field', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET, AllowedIdPHosts: ['*.corp.example'] } });
    for (const server of ['127.0.0.1#.corp.example', '127.0.0.1:1389/.corp.example', '127.0.0.1?.corp.example', 'x@127.0.0.1#a.corp.example']) {
      const res = await post(ldap('sneaky', server));
      expect([res.status, res.body.Error]).toEqual([400, expect.stringContaining('ProviderConfig.LDAPServer: must be a host name or an IP address')]);
    }
    // Host names as TIB profiles write them still pass: any case, a trailing dot, IPv6 with or without brackets.
    expect((await post(ldap('ok1', 'DC1.Corp.Example.'))).status).toBe(201);
  });

  // URLs give IPv6 hosts in canonical form ([::1]); LDAPServer and the entries are written as the operator likes.
  it('compares IPv6 addresses in any spelling, and IDN entries by their punycode', async () => {
    expect(hostAllowed('0:0:0:0:0:0:0:1', ['::1'])).toBe(true);
    expect(hostAllowed('[::1]', ['0:0::1'])).toBe(true);
    expect(hostAllowed('2001:DB8::0:1', ['[2001:db8::1]'])).toBe(true);
    expect(hostAllowed('::2', ['::1'])).toBe(false);
    expect(hostAllowed(new URL('https://bücher.corp.example/').hostname, ['bücher.corp.example'])).toBe(true);
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET, AllowedIdPHosts: ['[::1]'] } });
    expect((await post(ldap('v6', '0:0:0:0:0:0:0:1'))).status).toBe(201);
  });

  it('a profile ID of exactly 128 characters is created, read and deleted; 129 is refused', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    const id = `${'a.b_c-d@'.repeat(16)}`;
    expect(id).toHaveLength(128);
    expect((await post(ldap(id, 'ldap.example.com'))).status).toBe(201);
    expect((await request(b.url).get(`/api/profiles/${id}`).set('Authorization', SECRET)).body.Data.ID).toBe(id);
    expect((await request(b.url).delete(`/api/profiles/${id}`).set('Authorization', SECRET)).status).toBe(200);
    const res = await post(ldap(`${id}x`, 'ldap.example.com'));
    expect(res.status).toBe(400);
  });

  it('without an allow-list too, the same values are refused at validation', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    expect((await post(ldap('bad', 'ldap.example.com/x'))).status).toBe(400);
    for (const [id, server] of [['v6', '::1'], ['v6b', '[::1]'], ['v4', '10.1.2.3'], ['name', 'ldap_1.example.com']] as const) {
      expect([id, (await post(ldap(id, server))).status]).toEqual([id, 201]);
    }
  });
});

describe('token endpoints refusing Basic credentials as real servers do', () => {
  const CRED = 'dashboard-credential-for-review-tests';
  const ADMIN = 'dashboard-admin-secret-for-review-tests';
  const CLIENT = 'review-client';
  const CLIENT_SECRET = 'review-client-secret-0123456789';
  const IDS = ['plain-401', 'challenge-401', 'html-400', 'invalid-request', 'consumed'];
  let op: TestOp;
  let stub: TykStub;
  let broker: TestBroker;
  let base: string;
  const callbackOf = (id: string) => `${base}/auth/${id}/openid-connect/callback`;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
    op = await startTestOp({ redirectUris: IDS.map(callbackOf), clients: [{ client_id: CLIENT, client_secret: CLIENT_SECRET }] });
    broker = await startTestBroker({
      port,
      config: { SessionSecret: 'session-secret-for-review-tests-0123456', TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: IDS.map((id) => oidcProfile({ id, discoveryUrl: op.discoveryUrl, callbackBase: base, returnUrl: `${stub.url}/tap`, credential: CRED, key: CLIENT, secret: CLIENT_SECRET })),
    });
  }, 60_000);

  afterAll(async () => {
    await broker?.close();
    await op?.close();
    await stub?.close();
  });

  beforeEach(() => {
    stub.reset();
    op.tokenRequests = [];
  });
  afterEach(() => {
    op.tokenAnswer = undefined;
  });

  async function login(id: string): Promise<Response> {
    const jar = new CookieJar();
    const start = await fetchWithJar(`${base}/auth/${id}/openid-connect`, jar);
    expect(start.status).toBe(302);
    return fetchWithJar(await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', callbackOf(id)), jar);
  }
  const signedIn = (res: Response) => [res.status, stub.requests.filter((r) => r.path === '/api/sso').length];

  // RFC 6749 5.2: 401 is the answer to failed client authentication; Go's auto-detect retries on any error.
  it('retries with client_secret_post after a 401 with neither a challenge nor a JSON body', async () => {
    op.tokenAnswer = (auth) => (auth === 'basic' ? { status: 401, headers: { 'content-type': 'text/plain' }, body: 'Unauthorized' } : undefined);
    expect(signedIn(await login('plain-401'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 401], ['body', 200]]);
  });

  it('retries with client_secret_post after a 401 with a Basic challenge and an empty body', async () => {
    op.tokenAnswer = (auth) => (auth === 'basic' ? { status: 401, headers: { 'www-authenticate': 'Basic realm="token"' }, body: '' } : undefined);
    expect(signedIn(await login('challenge-401'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 401], ['body', 200]]);
  });

  it('retries with client_secret_post after 400 invalid_client sent as text/html', async () => {
    op.tokenAnswer = (auth) => (auth === 'basic' ? { status: 400, headers: { 'content-type': 'text/html;charset=utf-8' }, body: '{"error":"invalid_client"}' } : undefined);
    expect(signedIn(await login('html-400'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 400], ['body', 200]]);
  });

  it('does not retry after 400 invalid_request', async () => {
    op.tokenAnswer = (auth) => (auth === 'basic' ? { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_request"}' } : undefined);
    expect(signedIn(await login('invalid-request'))).toEqual([400, 0]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 400]]);
  });

  // An endpoint that spends the code before checking the client: the retry is refused with invalid_grant, which
  // means the client authentication itself was accepted, so the next login goes straight to the body.
  it('after invalid_client then invalid_grant (the code already spent), the next login uses client_secret_post at once', async () => {
    let bodyRefusals = 1;
    op.tokenAnswer = (auth) => {
      if (auth === 'basic') return { status: 401, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_client"}' };
      if (bodyRefusals-- > 0) return { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_grant"}' };
      return undefined;
    };
    expect(signedIn(await login('consumed'))).toEqual([400, 0]);
    stub.reset();
    op.tokenRequests = [];
    expect(signedIn(await login('consumed'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['body', 200]]);

    // The IdP now refuses the body: that login fails, and the next one detects again (Basic works now).
    op.tokenAnswer = (auth) => (auth === 'body' ? { status: 401, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_client"}' } : undefined);
    stub.reset();
    op.tokenRequests = [];
    expect(signedIn(await login('consumed'))).toEqual([400, 0]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['body', 401]]);
    op.tokenAnswer = undefined;
    op.tokenRequests = [];
    expect(signedIn(await login('consumed'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 200]]);
  });
});

describe('a profiles.json that is a symbolic link', () => {
  // Kubernetes ConfigMap style: profiles.json -> ..data/profiles.json, ..data -> ..2026_11_25/ (a writable one here).
  it('is written through the link, which stays a link, keeping the target mode', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'review-symlink-'));
    try {
      await fs.mkdir(path.join(dir, '..2026_11_25'));
      await fs.symlink('..2026_11_25', path.join(dir, '..data'));
      const target = path.join(dir, '..2026_11_25', 'profiles.json');
      await fs.writeFile(target, JSON.stringify([ldap('one', 'ldap.example.com')]), { mode: 0o640 });
      await fs.chmod(target, 0o640);
      const link = path.join(dir, 'profiles.json');
      await fs.symlink(path.join('..data', 'profiles.json'), link);

      const loaded = await loadProfilesFile(link);
      expect(loaded.problems).toEqual([]);
      const two = (await loadProfilesFile(link)).profiles.map((p) => ({ ...p, ID: 'two' }));
      await saveProfilesFile(link, [...loaded.profiles, ...two], { backupDir: dir, keep: 3 });

      expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
      expect((await loadProfilesFile(target)).profiles.map((p) => p.ID)).toEqual(['one', 'two']);
      expect((await fs.stat(target)).mode & 0o777).toBe(0o640);
      // A temp file left by a crash next to the target is found through the link too.
      const stale = path.join(dir, '..2026_11_25', `.profiles.json.${process.pid}.0123456789ab.tmp`);
      await fs.writeFile(stale, 'secrets');
      expect(await removeStaleTempFiles(link)).toEqual([path.basename(stale)]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a directory that closes idle connections (slapd idletimeout 1)', () => {
  const CRED = 'dashboard-credential-for-idle-tests';
  const ADMIN = 'dashboard-admin-secret-for-idle-tests';
  let slapd: Slapd;
  let stub: TykStub;
  let broker: TestBroker;
  const profile = (id: string, extra: Record<string, unknown>) => ({
    ID: id,
    OrgID: 'org-idle',
    ActionType: 'GenerateOrLoginUserProfile',
    ProviderName: 'ADProvider',
    ReturnURL: `${stub.url}/tap`,
    IdentityHandlerConfig: { DashboardCredential: CRED },
    ProviderConfig: { ...serviceAccountSearch(slapd), ...extra },
  });
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

describe('a filter that accepts two usernames for one entry: (|(uid=*USERNAME*)(mail=*USERNAME*))', () => {
  // Active Directory style: sign in with the short name or the principal name (here uid or mail).
  const CRED = 'dashboard-credential-for-either-tests';
  const ADMIN = 'dashboard-admin-secret-for-either-tests';
  let slapd: Slapd;
  let stub: TykStub;
  let broker: TestBroker;
  const profile = (id: string, filter: string) => ({
    ID: id,
    OrgID: 'org-either',
    ActionType: 'GenerateOrLoginDeveloperProfile',
    ProviderName: 'ADProvider',
    ReturnURL: `${stub.url}/tap`,
    IdentityHandlerConfig: { DashboardCredential: CRED },
    ProviderConfig: { ...serviceAccountSearch(slapd), LDAPFilter: filter },
  });
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

describe('log masks', () => {
  afterEach(() => setOwnedSecrets('review-masks', []));

  it('a secret with regular-expression characters is masked as written', () => {
    setOwnedSecrets('review-masks', ['a.b*c+d?(e)[f]$^|\\g']);
    expect(redact('bind with a.b*c+d?(e)[f]$^|\\g failed; aXb*c+d?(e)[f]$^|\\g stays')).toBe('bind with [redacted] failed; aXb*c+d?(e)[f]$^|\\g stays');
  });

  it('a secret inside another is masked whole, and two overlapping secrets leave no piece of either', () => {
    setOwnedSecrets('review-masks', ['password-one-1234', '1234-secret-xyz', 'one-1234']);
    expect(redact('x password-one-1234 y')).toBe('x [redacted] y');
    // Before: the longer one was masked first, which cut the other, and "-secret-xyz" reached the log.
    expect(redact('x password-one-1234-secret-xyz y')).toBe('x [redacted] y');
    expect(redact('1234-secret-xyz and password-one-1234')).toBe('[redacted] and [redacted]');
  });
});
