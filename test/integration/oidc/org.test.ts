/**
 * Dashboard SSO's organisation from an OpenID Connect claim (issue 19, item 4; src/identity/org.ts) against the
 * suite's OpenID Provider and the recording Tyk stub: the mapped OrgID reaches /api/sso, an unmapped claim
 * gets DefaultOrgID, an absent claim without DefaultOrgID is refused before any call to Tyk.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-oidc-org-tests';
const ADMIN = 'dashboard-admin-secret-for-oidc-org-tests';
const CLIENT_SECRET = 'oidc-client-secret-for-org-tests';
const PROFILES = ['by-family', 'absent-default', 'absent-refused'];
let op: TestOp;
let stub: TykStub;
let broker: TestBroker;
let base: string;

const callbackOf = (id: string) => `${base}/auth/${id}/openid-connect/callback`;
// alice's family_name is "Anders", bob's "Berg" (test/support/oidc-op.ts OP_ACCOUNTS).
const BY_FAMILY = { CustomUserOrgField: 'family_name', OrgMapping: { Anders: 'org-anders' } };

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  op = await startTestOp({ redirectUris: PROFILES.map(callbackOf), clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET }] });
  const profile = (id: string, over: Record<string, unknown>) =>
    oidcProfile({ id, discoveryUrl: op.discoveryUrl, callbackBase: base, returnUrl: `${stub.url}/tap`, credential: CRED, key: 'broker', secret: CLIENT_SECRET, scopes: ['openid', 'email', 'profile'], profile: over });
  broker = await startTestBroker({
    port,
    config: { SessionSecret: 'session-secret-for-oidc-org-tests-0123456789', TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [
      profile('by-family', { ...BY_FAMILY, DefaultOrgID: 'org-default' }),
      profile('absent-default', { CustomUserOrgField: 'org', OrgMapping: { x: 'org-x' }, DefaultOrgID: 'org-default' }),
      profile('absent-refused', { CustomUserOrgField: 'org', OrgMapping: { x: 'org-x' } }),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await op?.close();
  await stub?.close();
});
beforeEach(() => stub.reset());

async function login(id: string, user: string): Promise<Response> {
  const jar = new CookieJar();
  const start = await fetchWithJar(`${base}/auth/${id}/openid-connect`, jar);
  const callback = await loginAtOp(start.headers.get('location') ?? '', jar, user, callbackOf(id));
  return fetchWithJar(callback, jar);
}
const ssoOrgs = () => stub.requests.filter((r) => r.path === '/api/sso').map((r) => (r.body as { OrgID?: unknown }).OrgID);

describe('Dashboard organisation from an OpenID Connect claim', () => {
  it('the mapped claim gives its OrgID; an unmapped one DefaultOrgID', async () => {
    expect((await login('by-family', 'alice')).status).toBe(302);
    expect((await login('by-family', 'bob')).status).toBe(302);
    expect(ssoOrgs()).toEqual(['org-anders', 'org-default']);
  });

  it('an absent claim gives DefaultOrgID, or without one a refusal before any call to Tyk', async () => {
    expect((await login('absent-default', 'alice')).status).toBe(302);
    expect(ssoOrgs()).toEqual(['org-default']);
    stub.reset();
    expect((await login('absent-refused', 'alice')).status).toBe(400);
    expect(ssoOrgs()).toEqual([]);
    expect(broker.logs.some((l) => l.includes('login failed') && l.includes('no DefaultOrgID'))).toBe(true);
  });
});
