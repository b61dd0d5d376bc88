/**
 * "idp" membership when the portal's admin API cannot be used (issue 19, item 2; src/actions/portal-membership.ts,
 * src/portal/reconcile.ts), against a real slapd and the portal stand-in (test/support/portal-stub.ts): down (no
 * answer), slow (beyond TykAPISettings.Timeout), refusing the token (401, or a profile's own wrong AdminToken).
 * OnPortalError "fail" ends the login at the failure response before the SSO call and writes nothing; "continue"
 * logs a WARN and goes on to the portal with TIB's wire. A create whose teams cannot be set is deleted again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalAdminFault, type PortalStub, type PortalTeam } from '../../support/portal-stub.js';
import { metricValue, parseMetrics } from '../../support/prometheus.js';
import { ldapProfile, SPECIAL_UID, startSlapd, SUFFIX, USERS, type Slapd } from '../../support/slapd.js';

const SECRET = 'portal-api-secret-for-portal-errors';
const TOKEN = 'portal-admin-token-for-portal-errors';
const ADMIN_SECRET = 'broker-admin-secret-for-portal-errors';
let slapd: Slapd;
let portal: PortalStub;
let broker: TestBroker;
let developers: PortalTeam;

beforeAll(async () => {
  [slapd, portal] = await Promise.all([startSlapd(), startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN })]);
  developers = portal.addTeam(portal.addOrganisation('Acme').ID, 'Developers');
  const profile = (id: string, onPortalError: string, over: Record<string, unknown> = {}) =>
    ldapProfile(slapd, {
      id,
      returnUrl: `${portal.url}/sso`,
      credential: SECRET,
      profile: {
        ActionType: 'GenerateOrLoginDeveloperProfile',
        OrgID: '0',
        CustomUserGroupField: 'memberOf',
        // A team ID (not a name): what "continue" can still send without the portal.
        UserGroupMapping: { [`cn=developers,ou=groups,${SUFFIX}`]: String(developers.ID) },
        Membership: { Authority: 'idp', OnPortalError: onPortalError },
        ...over,
      },
    });
  const wrongToken = { TykAPISettings: { PortalAPIConfig: { AdminToken: 'not-the-admin-token' } } };
  broker = await startTestBroker({
    config: {
      Secret: ADMIN_SECRET,
      TykAPISettings: { Timeout: 1, DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } },
      BruteForce: { UsernameLimit: 0, IPLimit: 0 },
    },
    profiles: [
      profile('fail', 'fail'),
      profile('continue', 'continue'),
      profile('bad-token-fail', 'fail', wrongToken),
      profile('bad-token-continue', 'continue', wrongToken),
      // "portal" mode with team IDs: TIB's wire, which never needs the admin API.
      profile('portal-ids', 'fail', { Membership: { Authority: 'portal' } }),
      profile('continue-names', 'continue', { UserGroupMapping: { [`cn=developers,ou=groups,${SUFFIX}`]: 'Acme/Developers' } }),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await portal?.close();
  await slapd?.stop();
});
afterEach(() => {
  portal.setAdminFault('none');
  expect(portal.violations).toEqual([]);
});

const passwordOf = (uid: string) => USERS.find((u) => u.uid === uid)?.password ?? '';
const post = (id: string, username: string) => request(broker.url).post(`/auth/${id}/ldap`).type('form').send({ username, password: passwordOf(username) });
const writes = () => portal.adminCalls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`);
const accountOf = (email: string) => [...portal.users.values()].filter((u) => u.Email === email);
const lastLine = (text: string, profile: string) => broker.logs.filter((l) => l.includes(text) && l.includes(`profile="${profile}"`)).at(-1) ?? '';
const fresh = () => {
  portal.adminCalls.length = 0;
  portal.ssoCalls.length = 0;
};

/** "fail": the failure response, no SSO call, nothing written, the reason and its hint logged. */
async function failsCleanly(profile: string, status: number, hint: string, failing: string) {
  fresh();
  const users = JSON.stringify([...portal.users.values()]);
  const res = await post(profile, 'alice');
  expect({ status: res.status, location: res.headers.location, sso: portal.ssoCalls, writes: writes() }).toEqual({ status, location: undefined, sso: [], writes: [] });
  expect(JSON.stringify([...portal.users.values()])).toBe(users);
  const line = lastLine('login failed', profile);
  expect(line).toContain(`reason="portal admin API: GET ${failing}`);
  expect(line).toContain(hint);
}

/** "continue": a WARN, then the SSO call with the mapped team ID (TIB's wire) and the portal's own sign-in. */
async function continues(profile: string) {
  fresh();
  // No account beforehand: the one the portal makes shows the team the SSO call carried.
  for (const u of accountOf('bob@example.org')) portal.users.delete(u.ID);
  const warnings = () => broker.logs.filter((l) => l.includes('[WARN]') && l.includes('(Membership.OnPortalError is "continue")') && l.includes(`profile="${profile}"`)).length;
  const warned = warnings();
  const res = await post(profile, 'bob');
  expect(res.status).toBe(302);
  expect((await fetch(res.headers.location as string)).status).toBe(200);
  const user = portal.users.get(portal.landings.at(-1)?.userId ?? -1);
  expect({ sso: portal.ssoCalls.map((c) => `${c.method} ${c.path}`).slice(0, 1), writes: writes(), email: user?.Email, teams: user?.Teams }).toEqual({
    sso: ['POST /api/sso'], writes: [], email: 'bob@example.org', teams: [developers.ID],
  });
  expect(warnings()).toBe(warned + 1);
}

const faults: Array<[string, PortalAdminFault, number, string]> = [
  ['down (no answer)', 'down', 502, 'hint='],
  ['slow (beyond TykAPISettings.Timeout)', { delayMs: 1_500 }, 504, 'raise TykAPISettings.Timeout'],
  ['refusing the token (401)', { status: 401 }, 502, 'PortalAPIConfig.AdminToken'],
];

// The first call to fail: the teams' list (no snapshot yet), then, once a login has cached it, the users.
describe.each([
  ['before the broker has read the portal\'s teams', '/portal-api/organisations'],
  ['once the teams are cached', '/portal-api/users'],
])('%s', (_phase, failing) => {
  beforeAll(async () => {
    if (failing === '/portal-api/users') expect((await post('fail', 'alice')).status).toBe(302);
  });

  describe.each(faults)('the admin API %s', (_name, fault, status, hint) => {
    it('OnPortalError "fail": the failure response, no SSO call, nothing written', async () => {
      portal.setAdminFault(fault);
      await failsCleanly('fail', status, hint, failing);
    });

    it('OnPortalError "continue": a WARN, then the portal with TIB\'s wire', async () => {
      portal.setAdminFault(fault);
      await continues('continue');
    });
  });
});

describe('a profile\'s own wrong AdminToken', () => {
  it('OnPortalError "fail": the failure response, no SSO call, nothing written', () => failsCleanly('bad-token-fail', 502, 'PortalAPIConfig.AdminToken', '/portal-api/organisations'));
  it('OnPortalError "continue": a WARN, then the portal with TIB\'s wire', () => continues('bad-token-continue'));
});

describe('"continue" with team names', () => {
  // As "portal" mode would send them: names resolved from the team list already held (docs/portal-membership.md).
  it('goes on with the named teams resolved from the cached list: the portal\'s own flow puts the new account in that team', async () => {
    expect((await post('continue-names', 'alice')).status).toBe(302); // the teams are read and cached
    for (const u of accountOf('bob@example.org')) portal.users.delete(u.ID);
    portal.setAdminFault({ status: 503, method: 'GET' }); // the users cannot be read; the cached teams are not asked for
    const res = await post('continue-names', 'bob');
    expect(res.status).toBe(302);
    expect((await fetch(res.headers.location as string)).status).toBe(200);
    expect(accountOf('bob@example.org').map((u) => ({ teams: u.Teams, role: u.Role }))).toEqual([{ teams: [developers.ID], role: 'consumer-admin' }]);
  });
});

describe('"portal" mode with team IDs', () => {
  it('never calls the admin API, so a portal whose admin API is down changes nothing', async () => {
    fresh();
    portal.setAdminFault('down');
    const res = await post('portal-ids', 'bob');
    expect(res.status).toBe(302);
    expect((await fetch(res.headers.location as string)).status).toBe(200);
    expect({ admin: portal.adminCalls, sso: portal.ssoCalls.at(0)?.path, landing: portal.landings.at(-1)?.outcome }).toEqual({ admin: [], sso: '/api/sso', landing: 'signed-in' });
  });
});

describe('nothing half written', () => {
  it('an account created for a login whose teams cannot be set (the PUT fails) is deleted again', async () => {
    fresh();
    portal.setAdminFault({ status: 500, method: 'PUT' });
    const res = await post('fail', 'Zoë Müller');
    expect({ status: res.status, sso: portal.ssoCalls, accounts: accountOf('zoe@example.org') }).toEqual({ status: 502, sso: [], accounts: [] });
    const created = /^\/portal-api\/users\/(\d+)$/.exec(portal.adminCalls.find((c) => c.method === 'PUT')?.path ?? '')?.[1];
    expect(writes()).toEqual(['POST /portal-api/users', `PUT /portal-api/users/${created}`, `DELETE /portal-api/users/${created}`]);
  });

  it('with "continue", the same, then the portal\'s own flow makes the account from the SSO call', async () => {
    fresh();
    portal.setAdminFault({ status: 500, method: 'PUT' });
    const res = await post('continue', SPECIAL_UID);
    expect(res.status).toBe(302);
    const created = /^\/portal-api\/users\/(\d+)$/.exec(portal.adminCalls.find((c) => c.method === 'PUT')?.path ?? '')?.[1];
    expect(writes()).toEqual(['POST /portal-api/users', `PUT /portal-api/users/${created}`, `DELETE /portal-api/users/${created}`]);
    expect((await fetch(res.headers.location as string)).status).toBe(200);
    const accounts = accountOf('special@example.org');
    expect(accounts.map((u) => ({ id: u.ID === Number(created), teams: u.Teams, role: u.Role }))).toEqual([{ id: false, teams: [developers.ID], role: 'consumer-admin' }]);
  });
});

describe('nothing half written when a write answers too late (TykAPISettings.Timeout: 1 s)', () => {
  const settle = () => new Promise((r) => setTimeout(r, 1_000));

  it('a PUT that times out: the account is deleted again, and the late PUT finds nothing to change', async () => {
    fresh();
    portal.setAdminFault({ delayMs: 1_500, method: 'PUT' });
    const res = await post('fail', 'Zoë Müller');
    expect({ status: res.status, sso: portal.ssoCalls }).toEqual({ status: 504, sso: [] });
    await settle(); // the PUT reaches the portal after the broker gave up on it
    const created = /^\/portal-api\/users\/(\d+)$/.exec(portal.adminCalls.find((c) => c.method === 'PUT')?.path ?? '')?.[1];
    expect({ writes: writes(), accounts: accountOf('zoe@example.org') }).toEqual({ writes: ['POST /portal-api/users', `PUT /portal-api/users/${created}`, `DELETE /portal-api/users/${created}`], accounts: [] });
  });

  // The broker cannot know the portal made the account after it gave up: it is created inactive, so the portal
  // does not log it in, and the person's next login finds it by email and completes it.
  it('a create (POST) that times out leaves at most an inactive account, which the next login completes', async () => {
    fresh();
    portal.setAdminFault({ delayMs: 1_500, method: 'POST' });
    const res = await post('fail', 'Zoë Müller');
    expect({ status: res.status, sso: portal.ssoCalls }).toEqual({ status: 504, sso: [] });
    await settle(); // the create reaches the portal after the broker gave up on it
    portal.setAdminFault('none');
    expect(accountOf('zoe@example.org').map((u) => ({ active: u.Active, teams: u.Teams }))).toEqual([{ active: false, teams: [] }]);
    const next = await post('fail', 'Zoë Müller');
    expect(next.status).toBe(302);
    expect((await fetch(next.headers.location as string)).status).toBe(200);
    expect(accountOf('zoe@example.org').map((u) => ({ active: u.Active, teams: u.Teams }))).toEqual([{ active: true, teams: [developers.ID] }]);
  });
});

describe('tib_portal_reconciles_total', () => {
  it('counts an admin API failure as "error", whatever OnPortalError does next', async () => {
    const errors = async () => {
      const res = await request(broker.url).get('/metrics').set('Authorization', ADMIN_SECRET);
      expect(res.status).toBe(200);
      return metricValue(parseMetrics(res.text), 'tib_portal_reconciles_total', { outcome: 'error' });
    };
    const before = await errors();
    portal.setAdminFault('down');
    await post('fail', 'alice');
    await post('continue', 'bob');
    expect(await errors()).toBe(before + 2);
  });
});
