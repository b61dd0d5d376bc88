/**
 * How a failed login ends, and what the log says about it (issue 11, item 5), against a real slapd and the
 * recording Tyk stub: a browser gets a page titled with the profile's Name (never raw JSON) unless it asked
 * for JSON; an API client keeps TIB's envelope; a credential the Dashboard refuses is logged with the URL
 * tried and the setting to check; a directory that is down is logged with its ldap://host:port.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { freePort, ldapProfile, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'failure-pages-dashboard-credential';
const WRONG_CRED = 'failure-pages-wrong-credential';
const ADMIN = 'failure-pages-admin-secret';
/** What Chromium sends when it navigates. */
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

let slapd: Slapd;
let stub: TykStub;
let broker: TestBroker;
let closedPort: number;

beforeAll(async () => {
  [slapd, stub, closedPort] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN }), freePort()]);
  broker = await startTestBroker({
    config: { TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [
      // The directory accepts alice; the Dashboard refuses the profile's credential.
      { ...ldapProfile(slapd, { id: 'refused', returnUrl: `${stub.url}/sso`, credential: WRONG_CRED }), Name: 'Acme <Partner> Portal' },
      // Nothing listens on the directory's port.
      { ...ldapProfile(slapd, { id: 'no-directory', returnUrl: `${stub.url}/sso`, credential: CRED, providerConfig: { LDAPPort: String(closedPort) } }), Name: 'Directory Down' },
    ],
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await Promise.all([stub?.close(), slapd?.stop()]);
});

const login = (id: string, accept?: string) => {
  const r = request(broker.url).post(`/auth/${id}/ldap`).type('form');
  return (accept ? r.set('Accept', accept) : r).send({ username: 'alice', password: 'alice-pass' });
};
const failureLines = (profile: string) => broker.logs.filter((l) => l.includes('login failed') && l.includes(`profile="${profile}"`));

describe('a login that fails after the directory accepted the user (the Dashboard refuses DashboardCredential)', () => {
  it('gives a browser a page titled with the profile Name, escaped, with no reason and no secret in it', async () => {
    const res = await login('refused', BROWSER);
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('<title>Acme &lt;Partner&gt; Portal</title>');
    expect(res.text).toContain('<h1>Acme &lt;Partner&gt; Portal</h1>');
    expect(res.text).toContain('Login failed');
    expect(res.text).not.toContain('/api/sso');
    expect(res.text).not.toContain(WRONG_CRED);
  });

  it("keeps TIB's JSON envelope for a client that did not ask for HTML, and for one that asked for JSON", async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5']) {
      const res = await login('refused', accept);
      expect([res.status, res.headers['content-type'], res.body]).toEqual([502, expect.stringMatching(/^application\/json/), { Status: 'error', Error: 'Login failed' }]);
    }
  });

  it("logs the URL it tried and the fix: check DashboardCredential against the portal's PORTAL_API_SECRET", async () => {
    await login('refused');
    const line = failureLines('refused').at(-1) ?? '';
    expect(line).toContain('POST /api/sso answered 401');
    expect(line).toContain(`POST ${stub.endpoint}:${stub.port}/api/sso`);
    expect(line).toContain("check IdentityHandlerConfig.DashboardCredential against the portal's PORTAL_API_SECRET");
    expect(line).not.toContain(WRONG_CRED);
    // Refused, the broker does not quietly retry with the admin secret.
    expect(stub.requests.some((r) => r.path === '/admin/sso')).toBe(false);
  });
});

describe('a login while the directory is down', () => {
  it('logs the ldap://host:port it tried and what to check', async () => {
    const res = await login('no-directory');
    expect(res.status).toBe(503);
    const line = failureLines('no-directory').at(-1) ?? '';
    expect(line).toMatch(/directory unreachable: .*ECONNREFUSED/);
    expect(line).toContain(`ldap://127.0.0.1:${closedPort}`);
    expect(line).toMatch(/nothing listens at ldap:\/\/127\.0\.0\.1:\d+: check ProviderConfig\.LDAPServer and LDAPPort/);
    expect(line).not.toContain('alice-pass');
  });

  it("shows a browser the profile's own login page with the outage message (the LDAP provider's page)", async () => {
    const res = await login('no-directory', BROWSER);
    expect(res.status).toBe(503);
    expect(res.text).toContain('<h1>Directory Down</h1>');
    expect(res.text).toContain('Sign-in is unavailable right now');
  });
});

describe('errors before the provider runs', () => {
  it('an unknown profile: a page for a browser, the envelope for an API client', async () => {
    const page = await request(broker.url).get('/auth/nope/ldap').set('Accept', BROWSER);
    expect([page.status, page.headers['content-type']]).toEqual([404, expect.stringMatching(/^text\/html/)]);
    expect(page.text).toContain('This sign-in link is not configured');
    const api = await request(broker.url).get('/auth/nope/ldap');
    expect([api.status, api.body]).toEqual([404, { Status: 'error', Error: 'Profile nope not found' }]);
  });

  it('a form refused for its size: a page titled with the profile Name for a browser, the envelope otherwise', async () => {
    const big = { username: 'alice', password: 'x'.repeat(300 * 1024) };
    const page = await request(broker.url).post('/auth/refused/ldap').set('Accept', BROWSER).type('form').send(big);
    expect([page.status, page.headers['content-type']]).toEqual([413, expect.stringMatching(/^text\/html/)]);
    expect(page.text).toContain('<h1>Acme &lt;Partner&gt; Portal</h1>');
    expect(page.text).toContain('Request body too large');
    const api = await request(broker.url).post('/auth/refused/ldap').type('form').send(big);
    expect([api.status, api.body]).toEqual([413, { Status: 'error', Error: 'Request body too large' }]);
  });
});

describe('a SocialProvider profile with a session secret under 32 characters (an embedding application, no --check)', () => {
  it('is not set up: the log says why, a browser gets the page, an API client the envelope', async () => {
    const short = 'x'.repeat(31);
    const b = await startTestBroker({
      config: { SessionSecret: short, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: [
        {
          ID: 'oidc',
          Name: 'Short Secret',
          ActionType: 'GenerateOrLoginUserProfile',
          ProviderName: 'SocialProvider',
          ProviderConfig: {
            CallbackBaseURL: 'https://tib.example',
            UseProviders: [{ Name: 'openid-connect', Key: 'client', Secret: 'failure-pages-client-secret', DiscoverURL: 'https://idp.example/.well-known/openid-configuration' }],
          },
        },
      ],
    });
    try {
      expect(b.logs.join('\n')).toContain('SocialProvider profile \\"oidc\\" signs its login cookie with TYK_IB_SESSION_SECRET, which has only 31 characters');
      const page = await request(b.url).get('/auth/oidc/openid-connect').set('Accept', BROWSER);
      expect([page.status, page.headers['content-type']]).toEqual([500, expect.stringMatching(/^text\/html/)]);
      expect(page.text).toContain('<h1>Short Secret</h1>');
      const api = await request(b.url).get('/auth/oidc/openid-connect');
      expect([api.status, api.body]).toEqual([500, { Status: 'error', Error: 'Could not initialise provider' }]);
      expect(b.logs.join('\n')).not.toContain(short);
    } finally {
      await b.close();
    }
  });
});

describe('a SAMLProvider profile with a session secret under 32 characters (an embedding application, no --check)', () => {
  it('is not set up, as a SocialProvider profile: the log says why, a browser gets the page, the secret is not logged', async () => {
    stub.reset(); // the stub is shared with the logins above: this test's requests only
    const short = 'y'.repeat(31);
    const b = await startTestBroker({
      config: { SessionSecret: short, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: [
        {
          ID: 'saml',
          Name: 'Short Secret SAML',
          ActionType: 'GenerateOrLoginDeveloperProfile',
          ProviderName: 'SAMLProvider',
          ReturnURL: `${stub.url}/sso`,
          IdentityHandlerConfig: { DashboardCredential: CRED },
          ProviderConfig: { IDPMetadataURL: 'https://idp.example/metadata', CertLocation: '/nonexistent/sp.pem', SAMLBaseURL: 'https://tib.example/' },
        },
      ],
    });
    try {
      expect(b.logs.join('\n')).toContain('SAMLProvider profile \\"saml\\" signs its login cookie with TYK_IB_SESSION_SECRET, which has only 31 characters');
      const page = await request(b.url).get('/auth/saml/saml').set('Accept', BROWSER);
      expect([page.status, page.headers['content-type']]).toEqual([500, expect.stringMatching(/^text\/html/)]);
      expect(page.text).toContain('<h1>Short Secret SAML</h1>');
      expect(b.logs.join('\n')).not.toContain(short);
      expect(stub.requests).toEqual([]);
    } finally {
      await b.close();
    }
  });
});
