/**
 * A Tyk target per profile (issue 19, item 5; src/profiles/tyk-settings.ts): one broker serves Dashboard SSO
 * through tib.conf's DashboardConfig (the recording Tyk stub, test/support/tyk-stub.ts) and Portal SSO through
 * a developer profile's own TykAPISettings (the portal stand-in, test/support/portal-stub.ts), and two portals
 * from two profiles; each call reaches its own target with its own credentials. The profile's AdminToken and
 * AdminSecret never appear in the broker's logs and are redacted by `profiles export --redact`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runToolCommand } from '../../../src/cli/cli.js';
import type { CliIo } from '../../../src/cli/io.js';
import { getLogger } from '../../../src/log.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';
import { ldapProfile, startSlapd, SUFFIX, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const BROKER_SECRET = 'broker-admin-api-secret-for-target-tests';
const DASH_CRED = 'dashboard-credential-for-target-tests';
const DASH_ADMIN = 'tib-conf-dashboard-admin-secret-for-target-tests';
/** The second Dashboard's admin secret, held by a profile only (it has no /api/sso: /admin/sso with Admin-Auth). */
const OWN_DASH_ADMIN = 'profile-own-dashboard-admin-secret-for-targets';
const PORTAL_SECRET = { a: 'portal-a-api-secret-for-target-tests', b: 'portal-b-api-secret-for-target-tests' };
const PORTAL_TOKEN = { a: 'portal-a-admin-token-held-by-a-profile', b: 'portal-b-admin-token-held-by-a-profile' };
const PORTAL_ADMIN_SECRET = { a: 'portal-a-dashboard-admin-secret-in-profile', b: 'portal-b-dashboard-admin-secret-in-profile' };
const PROFILE_SECRETS = [OWN_DASH_ADMIN, ...Object.values(PORTAL_TOKEN), ...Object.values(PORTAL_ADMIN_SECRET)];

let slapd: Slapd;
let tyk: TykStub;
let oldDashboard: TykStub;
let portalA: PortalStub;
let portalB: PortalStub;
let broker: TestBroker;
const developers = `cn=developers,ou=groups,${SUFFIX}`;

beforeAll(async () => {
  [slapd, tyk, oldDashboard, portalA, portalB] = await Promise.all([
    startSlapd(),
    startTykStub({ dashboardCredential: DASH_CRED, adminSecret: DASH_ADMIN }),
    startTykStub({ dashboardCredential: DASH_CRED, adminSecret: OWN_DASH_ADMIN, hasApiSso: false }),
    startPortalStub({ portalApiSecret: PORTAL_SECRET.a, adminToken: PORTAL_TOKEN.a }),
    startPortalStub({ portalApiSecret: PORTAL_SECRET.b, adminToken: PORTAL_TOKEN.b }),
  ]);
  portalA.addTeam(portalA.addOrganisation('Acme').ID, 'Developers');
  portalB.addTeam(portalB.addOrganisation('Globex').ID, 'Partners');

  const developer = (id: string, portal: PortalStub, which: 'a' | 'b', team: string) =>
    ldapProfile(slapd, {
      id,
      actionType: 'GenerateOrLoginDeveloperProfile',
      orgId: '0',
      returnUrl: `${portal.url}/sso`,
      credential: PORTAL_SECRET[which],
      profile: {
        CustomUserGroupField: 'memberOf',
        UserGroupMapping: { [developers]: team },
        Membership: { Authority: 'idp' },
        TykAPISettings: {
          DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: PORTAL_ADMIN_SECRET[which] },
          PortalAPIConfig: { Endpoint: portal.url, AdminToken: PORTAL_TOKEN[which] },
        },
      },
    });
  broker = await startTestBroker({
    config: {
      Secret: BROKER_SECRET,
      TykAPISettings: { DashboardConfig: { Endpoint: tyk.endpoint, Port: tyk.port, AdminSecret: DASH_ADMIN } },
      BruteForce: { UsernameLimit: 0, IPLimit: 0 },
    },
    profiles: [
      ldapProfile(slapd, { id: 'dashboard', returnUrl: `${tyk.url}/tap`, credential: DASH_CRED, orgId: 'org-dashboard' }),
      ldapProfile(slapd, {
        id: 'old-dashboard',
        returnUrl: `${oldDashboard.url}/tap`,
        credential: DASH_CRED,
        orgId: 'org-old',
        profile: { TykAPISettings: { DashboardConfig: { Endpoint: oldDashboard.endpoint, Port: oldDashboard.port, AdminSecret: OWN_DASH_ADMIN } } },
      }),
      developer('portal-a', portalA, 'a', 'Acme/Developers'),
      developer('portal-b', portalB, 'b', 'Globex/Partners'),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await Promise.all([tyk?.close(), oldDashboard?.close(), portalA?.close(), portalB?.close()]);
  await slapd?.stop();
});
afterEach(() => {
  expect(portalA.violations).toEqual([]);
  expect(portalB.violations).toEqual([]);
});

async function login(id: string, username = 'bob'): Promise<string> {
  const res = await request(broker.url).post(`/auth/${id}/ldap`).type('form').send({ username, password: `${username}-pass` });
  expect(res.status).toBe(302);
  return res.headers.location as string;
}

/** The account portal signed bob into at its last landing, by its team names. */
function landedIn(portal: PortalStub) {
  const landing = portal.landings.at(-1);
  const user = portal.users.get(landing?.userId ?? -1);
  return { outcome: landing?.outcome, email: user?.Email, teams: user?.Teams.map((t) => portal.teams.get(t)?.Name) };
}

describe('one broker, a Tyk target per profile', () => {
  it('serves a Dashboard profile (tib.conf) and a portal profile (its own TykAPISettings), each call at its own target', async () => {
    const dash = await login('dashboard');
    expect(dash.startsWith(`${tyk.url}/tap?nonce=`)).toBe(true);
    const sso = tyk.requests.filter((r) => r.path === '/api/sso');
    expect(sso).toHaveLength(1);
    expect(sso[0]?.headers.authorization).toBe(DASH_CRED);
    expect(sso[0]?.body).toMatchObject({ ForSection: 'dashboard', OrgID: 'org-dashboard' });
    expect([portalA.adminCalls, portalA.landings, portalB.adminCalls]).toEqual([[], [], []]);

    const requestsBefore = tyk.requests.length;
    const portal = await login('portal-a');
    expect(portal.startsWith(`${portalA.url}/sso?nonce=`)).toBe(true);
    expect((await fetch(portal)).status).toBe(200);
    expect(landedIn(portalA)).toEqual({ outcome: 'signed-in', email: 'bob@example.org', teams: ['Developers'] });
    // Nothing of the portal login reached the Dashboard, nor the other portal.
    expect(tyk.requests.length).toBe(requestsBefore);
    expect(portalB.adminCalls).toEqual([]);
    expect(portalB.users.size).toBe(0);
  });

  it("a Dashboard profile's own DashboardConfig: its own Dashboard, with its own AdminSecret", async () => {
    const old = await login('old-dashboard');
    expect(old.startsWith(`${oldDashboard.url}/tap?nonce=`)).toBe(true);
    const admin = oldDashboard.requests.filter((r) => r.path === '/admin/sso');
    expect(admin.map((r) => r.headers['admin-auth'])).toEqual([OWN_DASH_ADMIN]);
    expect(tyk.requests.filter((r) => r.path === '/admin/sso')).toEqual([]);
  });

  it('two portals from one broker: each profile reconciles and signs in at its own portal, with its own token', async () => {
    const [callsA, usersA] = [portalA.adminCalls.length, portalA.users.size];
    const b = await login('portal-b');
    expect(b.startsWith(`${portalB.url}/sso?nonce=`)).toBe(true);
    expect((await fetch(b)).status).toBe(200);
    expect(landedIn(portalB)).toEqual({ outcome: 'signed-in', email: 'bob@example.org', teams: ['Partners'] });
    expect(portalA.adminCalls.length).toBe(callsA);
    expect(portalA.users.size).toBe(usersA);
    // Back to the first: still its own account and team.
    const a = await login('portal-a');
    expect((await fetch(a)).status).toBe(200);
    expect(landedIn(portalA)).toEqual({ outcome: 'signed-in', email: 'bob@example.org', teams: ['Developers'] });
  });

  it('a portal that refuses its token fails only its own profile, naming its own target', async () => {
    portalB.setAdminFault({ status: 401 });
    try {
      const res = await request(broker.url).post('/auth/portal-b/ldap').type('form').send({ username: 'bob', password: 'bob-pass' });
      expect(res.status).toBe(502);
      const failed = broker.logs.filter((l) => l.includes('login failed') && l.includes('portal-b'));
      expect(failed).toEqual([expect.stringContaining(portalB.url)]);
      expect(failed[0]).toContain('PortalAPIConfig.AdminToken');
      expect((await fetch(await login('portal-a'))).status).toBe(200);
    } finally {
      portalB.setAdminFault('none');
    }
  });
});

describe("the profile's own secrets", () => {
  it('never appear in the broker\'s logs (all of them, at debug level); a line that would carry one is masked', () => {
    expect(broker.logs.length).toBeGreaterThan(0);
    for (const secret of PROFILE_SECRETS) expect(broker.logs.filter((l) => l.includes(secret))).toEqual([]);
    const before = broker.logs.length;
    for (const secret of PROFILE_SECRETS) getLogger('TEST').info(`calling with ${secret}`);
    expect(broker.logs.slice(before)).toEqual(PROFILE_SECRETS.map(() => expect.stringContaining('calling with [redacted]')));
  });

  it('are redacted by `profiles export --redact` from the running broker, and kept without it', async () => {
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const io: CliIo = { out: (t) => void out.push(t), err: () => undefined, env: { TYK_IB_SECRET: BROKER_SECRET } };
      expect(await runToolCommand(argv, io)).toBe(0);
      return out.join('\n');
    };
    const redacted = await run(['profiles', 'export', '--url', broker.url, '--redact']);
    for (const secret of PROFILE_SECRETS) expect(redacted).not.toContain(secret);
    const byId = Object.fromEntries((JSON.parse(redacted) as Array<{ ID: string; TykAPISettings?: unknown }>).map((p) => [p.ID, p.TykAPISettings]));
    expect(byId['portal-a']).toEqual({
      DashboardConfig: { Endpoint: portalA.endpoint, Port: portalA.port, AdminSecret: '[redacted]' },
      PortalAPIConfig: { Endpoint: portalA.url, AdminToken: '[redacted]' },
    });
    expect(byId['old-dashboard']).toEqual({ DashboardConfig: { Endpoint: oldDashboard.endpoint, Port: oldDashboard.port, AdminSecret: '[redacted]' } });
    expect(byId.dashboard).toBeUndefined();
    const plain = await run(['profiles', 'export', '--url', broker.url]);
    for (const secret of PROFILE_SECRETS) expect(plain).toContain(secret);
  });
});
