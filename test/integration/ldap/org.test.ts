/**
 * Dashboard SSO's organisation from an LDAP attribute (issue 19, item 4; src/identity/org.ts) against a real
 * slapd and the recording Tyk stub: the mapped OrgID reaches /api/sso, an unmapped value gets DefaultOrgID,
 * an absent attribute without DefaultOrgID is refused before any call to Tyk, no CustomUserOrgField keeps OrgID.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { ldapProfile, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-ldap-org-tests';
const ADMIN = 'dashboard-admin-secret-for-ldap-org-tests';
let slapd: Slapd;
let stub: TykStub;
let broker: TestBroker;

// alice's sn is "Admin", bob's "Builder" (test/support/slapd.ts).
const BY_SN = { CustomUserOrgField: 'sn', OrgMapping: { Admin: 'org-admins' } };

beforeAll(async () => {
  [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
  const profile = (id: string, over: Record<string, unknown>) => ldapProfile(slapd, { id, returnUrl: `${stub.url}/tap`, credential: CRED, profile: over });
  broker = await startTestBroker({
    config: { TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } }, BruteForce: { UsernameLimit: 0, IPLimit: 0 } },
    profiles: [
      profile('by-sn', { ...BY_SN, DefaultOrgID: 'org-default' }),
      profile('absent-default', { CustomUserOrgField: 'departmentNumber', OrgMapping: { x: 'org-x' }, DefaultOrgID: 'org-default' }),
      profile('absent-refused', { CustomUserOrgField: 'departmentNumber', OrgMapping: { x: 'org-x' } }),
      profile('plain', {}),
      // LDAPAttributes without sn: the broker asks for CustomUserOrgField's attribute itself.
      ldapProfile(slapd, { id: 'listed-attrs', returnUrl: `${stub.url}/tap`, credential: CRED, profile: BY_SN, providerConfig: { LDAPAttributes: ['mail', 'givenName'] } }),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await stub?.close();
  await slapd?.stop();
});
beforeEach(() => stub.reset());

const login = (id: string, username: string) => request(broker.url).post(`/auth/${id}/ldap`).type('form').send({ username, password: `${username}-pass` });
const ssoOrgs = () => stub.requests.filter((r) => r.path === '/api/sso').map((r) => (r.body as { OrgID?: unknown }).OrgID);

describe('Dashboard organisation from an LDAP attribute', () => {
  it('the mapped attribute value gives its OrgID; an unmapped one DefaultOrgID', async () => {
    expect((await login('by-sn', 'alice')).status).toBe(302);
    expect((await login('by-sn', 'bob')).status).toBe(302);
    expect(ssoOrgs()).toEqual(['org-admins', 'org-default']);
    // The chosen organisation is on the login's own line.
    expect(broker.logs.some((l) => l.includes('login succeeded') && l.includes('profile="by-sn"') && l.includes('org="org-admins"'))).toBe(true);
  });

  it('is read even when LDAPAttributes does not list the attribute', async () => {
    expect((await login('listed-attrs', 'alice')).status).toBe(302);
    expect(ssoOrgs()).toEqual(['org-admins']);
  });

  it('an absent attribute gives DefaultOrgID, or without one a refusal before any call to Tyk', async () => {
    expect((await login('absent-default', 'alice')).status).toBe(302);
    expect(ssoOrgs()).toEqual(['org-default']);
    stub.reset();
    const refused = await login('absent-refused', 'alice');
    expect(refused.status).toBe(400);
    expect(ssoOrgs()).toEqual([]);
    expect(broker.logs.some((l) => l.includes('login failed') && l.includes('no DefaultOrgID'))).toBe(true);
  });

  it("without CustomUserOrgField the profile's OrgID is sent, as TIB", async () => {
    expect((await login('plain', 'alice')).status).toBe(302);
    expect(ssoOrgs()).toEqual(['org-1']);
  });
});
