/**
 * Login CSRF (issue 17, finding 13): real HTTP form posts to a broker on slapd and the recording Tyk stub. By
 * default a POST from another origin (`Origin`), or one the browser marks `Sec-Fetch-Site: cross-site` or
 * `same-site`, is refused before any bind (counted at slapd's cn=Monitor) with today's refused-origin answer;
 * `LDAPAllowedOrigins` widens the list; a post without either header (curl, old clients) and the broker's
 * own page still log in.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { ldapProfile, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-origin-tests';
const ADMIN = 'dashboard-admin-secret-for-origin-tests';
const PORTAL = 'https://portal.example.com';

let slapd: Slapd;
let stub: TykStub;
let b: TestBroker;

beforeAll(async () => {
  [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
  const profile = (id: string, providerConfig: Record<string, unknown> = {}) =>
    ldapProfile(slapd, { id, name: `LDAP ${id}`, returnUrl: `${stub.url}/tap`, credential: CRED, providerConfig: { LDAPTimeout: 3000, ...providerConfig } });
  b = await startTestBroker({
    config: {
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, Timeout: 1 },
      BruteForce: { UsernameLimit: 0, IPLimit: 0 },
    },
    profiles: [profile('default'), profile('listed', { LDAPAllowedOrigins: [PORTAL] })],
  });
  // Warm both pools: the service account's binds are not the logins' under test.
  for (const id of ['default', 'listed']) expect((await post(id)).status).toBe(302);
}, 60_000);

afterAll(async () => {
  await b?.close();
  await stub?.close();
  await slapd?.stop();
});

beforeEach(() => stub.reset());

function post(id: string, headers: Record<string, string> = {}, password = 'alice-pass') {
  let req = request(b.url).post(`/auth/${id}/ldap`);
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  return req.type('form').send({ username: 'alice', password });
}

/** The answer, the binds it cost at slapd and the SSO calls it made at the Tyk stub. */
async function attempt(id: string, headers: Record<string, string> = {}) {
  const before = await slapd.binds();
  const res = await post(id, headers);
  return { res, binds: (await slapd.binds()) - before, sso: stub.requests.filter((r) => r.path === '/api/sso').length };
}

const expectLoggedIn = ({ res, sso }: Awaited<ReturnType<typeof attempt>>) => {
  expect(res.status).toBe(302);
  expect(res.headers.location).toMatch(new RegExp(`^${stub.url}/tap\\?nonce=`));
  expect(sso).toBe(1);
};
const expectRefused = ({ res, binds, sso }: Awaited<ReturnType<typeof attempt>>) => {
  expect(res.status).toBe(403);
  expect(res.body).toEqual({ Status: 'error', Error: 'Login failed' });
  expect(binds).toBe(0);
  expect(sso).toBe(0);
};

describe('by default (no LDAPAllowedOrigins)', () => {
  it('a form posted from another origin is refused (403) without a bind at slapd and without an SSO call', async () => {
    expectRefused(await attempt('default', { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' }));
    expectRefused(await attempt('default', { Origin: 'https://evil.example' }));
    // A sandboxed frame or a data: URL posts with Origin: null.
    expectRefused(await attempt('default', { Origin: 'null' }));
    expect(b.logs.some((l) => l.includes('form posted from an origin not in LDAPAllowedOrigins: https://evil.example'))).toBe(true);
  });

  it('a browser gets the login page again with the 403', async () => {
    const res = await post('default', { Origin: 'https://evil.example', Accept: 'text/html' });
    expect(res.status).toBe(403);
    expect(res.type).toBe('text/html');
    expect(res.text).toContain('<form');
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('Sec-Fetch-Site: cross-site without an Origin is refused', async () => {
    expectRefused(await attempt('default', { 'Sec-Fetch-Site': 'cross-site' }));
  });

  it('Sec-Fetch-Site: same-site (a sibling host) is refused too', async () => {
    expectRefused(await attempt('default', { Origin: 'https://portal.example.org', 'Sec-Fetch-Site': 'same-site' }));
    expectRefused(await attempt('default', { 'Sec-Fetch-Site': 'same-site' }));
  });

  it('a post with no Origin and no Sec-Fetch-Site (curl, old clients) logs in', async () => {
    expectLoggedIn(await attempt('default'));
  });

  it("the broker's own page logs in: its own Origin, or the browser's Sec-Fetch-Site: same-origin (e.g. behind a TLS-terminating balancer)", async () => {
    expectLoggedIn(await attempt('default', { Origin: new URL(b.url).origin, 'Sec-Fetch-Site': 'same-origin' }));
    stub.reset();
    expectLoggedIn(await attempt('default', { Origin: `https://${new URL(b.url).host}`, 'Sec-Fetch-Site': 'same-origin' }));
    stub.reset();
    expectLoggedIn(await attempt('default', { 'Sec-Fetch-Site': 'none' }));
  });
});

describe('LDAPAllowedOrigins widens the list', () => {
  it('a listed origin logs in, cross-site or same-site', async () => {
    expectLoggedIn(await attempt('listed', { Origin: PORTAL, 'Sec-Fetch-Site': 'cross-site' }));
    stub.reset();
    expectLoggedIn(await attempt('listed', { Origin: PORTAL, 'Sec-Fetch-Site': 'same-site' }));
  });

  it('an origin not listed is still refused', async () => {
    expectRefused(await attempt('listed', { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' }));
  });
});
