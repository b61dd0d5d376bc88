/**
 * "idp" membership (issue 19, item 2; src/portal/reconcile.ts) against a real slapd and the portal stand-in
 * (test/support/portal-stub.ts, its admin API validated against the published OpenAPI document): the portal
 * account follows the directory groups at every login, through the portal's documented SSO flow. Tests that move
 * someone between directory groups put them back (this file's slapd is shared by its tests).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub, type PortalTeam } from '../../support/portal-stub.js';
import { metricValue, parseMetrics } from '../../support/prometheus.js';
import { changeGroupMembers, ldapProfile, SPECIAL_UID, startSlapd, SUFFIX, USERS, type Slapd } from '../../support/slapd.js';

const SECRET = 'portal-api-secret-for-membership';
const TOKEN = 'portal-admin-token-for-membership';
const ADMIN_SECRET = 'broker-admin-secret-for-membership';
let slapd: Slapd;
let portal: PortalStub;
let broker: TestBroker;
let dir: string;
let auditPath: string;
let developers: PortalTeam;
let testers: PortalTeam;
let qa: PortalTeam;
const group = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'membership-ldap-'));
  auditPath = path.join(dir, 'audit.log');
  [slapd, portal] = await Promise.all([startSlapd(), startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN })]);
  const acme = portal.addOrganisation('Acme');
  developers = portal.addTeam(acme.ID, 'Developers');
  testers = portal.addTeam(acme.ID, 'Testers');
  qa = portal.addTeam(portal.addOrganisation('Globex').ID, 'QA');
  const membership = { Authority: 'idp', Teams: 'all', RoleMapping: { [group('admins')]: 'consumer-admin' } };
  const profile = (id: string, over: Record<string, unknown>) =>
    ldapProfile(slapd, {
      id,
      returnUrl: `${portal.url}/sso`,
      credential: SECRET,
      profile: {
        ActionType: 'GenerateOrLoginDeveloperProfile',
        OrgID: '0',
        CustomUserGroupField: 'memberOf',
        UserGroupMapping: { [group('developers')]: 'Acme/Developers', [group('testers')]: 'Acme/Testers' },
        Membership: membership,
        ...over,
      },
    });
  broker = await startTestBroker({
    config: {
      Secret: ADMIN_SECRET,
      Audit: { Enabled: true, Path: auditPath, Key: 'audit-key-for-membership-tests-0123456789' },
      TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } },
      BruteForce: { UsernameLimit: 0, IPLimit: 0 },
    },
    profiles: [
      profile('dev-idp', {}),
      profile('dev-portal', { Membership: { ...membership, Authority: 'portal' } }),
      profile('dev-first', { Membership: { ...membership, Teams: 'first' } }),
      // The testers' entry comes first, though memberOf lists developers first: the mapping's order decides.
      profile('dev-orgs', { UserGroupMapping: { [group('testers')]: 'Globex/QA', [group('developers')]: 'Acme/Developers' } }),
      profile('dev-registered', { Membership: { ...membership, RegisteredOnly: true } }),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await portal?.close();
  await slapd?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});
afterEach(() => expect(portal.violations).toEqual([]));

const passwordOf = (uid: string) => USERS.find((u) => u.uid === uid)?.password ?? `${uid}-pass`;
const post = (id: string, username: string) => request(broker.url).post(`/auth/${id}/ldap`).type('form').send({ username, password: passwordOf(username) });

async function login(id: string, username: string) {
  const res = await post(id, username);
  expect(res.status).toBe(302);
  const landing = await fetch(res.headers.location as string);
  expect(landing.status).toBe(200);
  return portal.landings.at(-1);
}

/** A refused login: the failure response, no nonce asked for, nothing written through the admin API. */
async function refused(id: string, username: string, status = 403) {
  portal.adminCalls.length = 0;
  portal.ssoCalls.length = 0;
  const landings = portal.landings.length;
  const res = await post(id, username);
  expect({ status: res.status, location: res.headers.location }).toEqual({ status, location: undefined });
  expect({ writes: portal.adminCalls.filter((c) => c.method !== 'GET'), sso: portal.ssoCalls, landings: portal.landings.length }).toEqual({ writes: [], sso: [], landings });
  return res;
}

const accountOf = (email: string) => [...portal.users.values()].filter((u) => u.Email === email);
const teamNames = (ids: number[] | undefined) => ids?.map((t) => portal.teams.get(t)?.Name).sort();
const failureLine = (profile: string) => broker.logs.filter((l) => l.includes('login failed') && l.includes(`profile="${profile}"`)).at(-1) ?? '';

type Event = Record<string, unknown>;
/** The portal_account audit events; the stream is written asynchronously, so wait (bounded) for `n`. */
async function portalEvents(n: number): Promise<Event[]> {
  for (let i = 0; ; i++) {
    const text = await fs.readFile(auditPath, 'utf8').catch(() => '');
    const events = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event).filter((e) => e.event === 'portal_account');
    if (events.length >= n || i > 100) return events;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function reconciles(): Promise<Record<string, number>> {
  const res = await request(broker.url).get('/metrics').set('Authorization', ADMIN_SECRET);
  expect(res.status).toBe(200);
  const samples = parseMetrics(res.text);
  const outcomes = ['created', 'updated', 'unchanged', 'refused', 'error'];
  return Object.fromEntries(outcomes.map((outcome) => [outcome, metricValue(samples, 'tib_portal_reconciles_total', { outcome })]));
}

describe('"idp" membership with LDAP groups', () => {
  it('bob (developers, testers) gets both teams, the organisation and the default role', async () => {
    const landing = await login('dev-idp', 'bob');
    const user = portal.users.get(landing?.userId ?? -1);
    const names = user?.Teams.map((t) => portal.teams.get(t)?.Name).sort();
    expect({ names, role: user?.Role, email: user?.Email }).toEqual({ names: ['Developers', 'Testers'], role: 'consumer-team-member', email: 'bob@example.org' });
  });

  it('alice (admins, developers) is a consumer admin in Developers', async () => {
    const landing = await login('dev-idp', 'alice');
    const user = portal.users.get(landing?.userId ?? -1);
    expect({ teams: user?.Teams.map((t) => portal.teams.get(t)?.Name), role: user?.Role }).toEqual({ teams: ['Developers'], role: 'consumer-admin' });
  });

  it('a second login with nothing changed writes nothing', async () => {
    await login('dev-idp', 'bob');
    portal.adminCalls.length = 0;
    await login('dev-idp', 'bob');
    expect(portal.adminCalls.filter((c) => c.method !== 'GET')).toEqual([]);
  });
});

describe('a user moved between directory groups', () => {
  it('"idp": lands in the new team at the next login, the old one left, only the teams written', async () => {
    await changeGroupMembers(slapd, 'developers', { add: ['argon'] });
    try {
      const first = await login('dev-idp', 'argon');
      expect(teamNames(portal.users.get(first?.userId ?? -1)?.Teams)).toEqual(['Developers']);
      await changeGroupMembers(slapd, 'testers', { add: ['argon'] });
      await changeGroupMembers(slapd, 'developers', { remove: ['argon'] });
      portal.adminCalls.length = 0;
      const second = await login('dev-idp', 'argon');
      const user = portal.users.get(second?.userId ?? -1);
      expect({ same: second?.userId === first?.userId, teams: teamNames(user?.Teams), org: user?.OrganisationID }).toEqual({ same: true, teams: ['Testers'], org: testers.OrganisationID });
      expect(portal.adminCalls.filter((c) => c.method !== 'GET')).toEqual([
        { method: 'PUT', path: `/portal-api/users/${user?.ID}`, body: { OrganisationID: testers.OrganisationID, Teams: [String(testers.ID)] } },
      ]);
    } finally {
      await changeGroupMembers(slapd, 'developers', { remove: ['argon'] }).catch(() => undefined);
      await changeGroupMembers(slapd, 'testers', { remove: ['argon'] }).catch(() => undefined);
    }
  });

  it('"portal": keeps the first team (the documented flow freezes it), the broker writes nothing; the "idp" profile then moves them', async () => {
    await changeGroupMembers(slapd, 'developers', { add: ['colin'] });
    try {
      const first = await login('dev-portal', 'colin');
      const user = portal.users.get(first?.userId ?? -1);
      // The portal made the account: its default role, the team the SSO call carried.
      expect({ teams: teamNames(user?.Teams), role: user?.Role }).toEqual({ teams: ['Developers'], role: 'consumer-admin' });
      await changeGroupMembers(slapd, 'testers', { add: ['colin'] });
      await changeGroupMembers(slapd, 'developers', { remove: ['colin'] });
      portal.adminCalls.length = 0;
      const second = await login('dev-portal', 'colin');
      expect({ same: second?.userId === first?.userId, teams: teamNames(user?.Teams) }).toEqual({ same: true, teams: ['Developers'] });
      expect(portal.adminCalls.filter((c) => c.path.startsWith('/portal-api/users'))).toEqual([]);

      const third = await login('dev-idp', 'colin');
      expect({ same: third?.userId === first?.userId, teams: teamNames(user?.Teams), role: user?.Role }).toEqual({ same: true, teams: ['Testers'], role: 'consumer-team-member' });
    } finally {
      await changeGroupMembers(slapd, 'developers', { remove: ['colin'] }).catch(() => undefined);
      await changeGroupMembers(slapd, 'testers', { remove: ['colin'] }).catch(() => undefined);
    }
  });

  it('RoleMapping makes a consumer admin while the person is in the group, DefaultRole once they leave it', async () => {
    const landing = await login('dev-idp', 'bob');
    const user = portal.users.get(landing?.userId ?? -1);
    expect(user?.Role).toBe('consumer-team-member');
    await changeGroupMembers(slapd, 'admins', { add: ['bob'] });
    try {
      portal.adminCalls.length = 0;
      await login('dev-idp', 'bob');
      expect({ role: user?.Role, writes: portal.adminCalls.filter((c) => c.method !== 'GET') }).toEqual({
        role: 'consumer-admin',
        writes: [{ method: 'PUT', path: `/portal-api/users/${user?.ID}`, body: { Role: 'consumer-admin' } }],
      });
    } finally {
      await changeGroupMembers(slapd, 'admins', { remove: ['bob'] });
    }
    await login('dev-idp', 'bob');
    expect({ role: user?.Role, teams: teamNames(user?.Teams) }).toEqual({ role: 'consumer-team-member', teams: ['Developers', 'Testers'] });
  });
});

describe('teams', () => {
  it('Teams "first": one team, the first group\'s (TIB\'s rule), the other named as dropped in the audit event', async () => {
    const before = (await portalEvents(0)).length;
    const landing = await login('dev-first', 'bob');
    expect(teamNames(portal.users.get(landing?.userId ?? -1)?.Teams)).toEqual(['Developers']);
    const event = (await portalEvents(before + 1)).at(-1);
    expect(event).toMatchObject({ profile: 'dev-first', outcome: 'updated', dropped: [{ team: 'Acme/Testers', why: 'Membership.Teams is "first"' }] });
  });

  it('teams in two organisations: the earliest UserGroupMapping entry\'s organisation wins; the other team is dropped and named (audit event, log line)', async () => {
    const before = (await portalEvents(0)).length;
    const landing = await login('dev-orgs', 'bob');
    const user = portal.users.get(landing?.userId ?? -1);
    expect({ teams: teamNames(user?.Teams), org: user?.OrganisationID }).toEqual({ teams: ['QA'], org: qa.OrganisationID });
    const event = (await portalEvents(before + 1)).at(-1);
    expect(event).toMatchObject({ profile: 'dev-orgs', outcome: 'updated', dropped: [{ team: 'Acme/Developers', why: expect.stringContaining('"Globex"') as unknown }] });
    const line = broker.logs.filter((l) => l.includes('portal account reconciled') && l.includes('profile="dev-orgs"')).at(-1);
    expect(line).toContain('Acme/Developers');
    // Back to Acme for the tests that follow.
    await login('dev-idp', 'bob');
    expect(teamNames(user?.Teams)).toEqual(['Developers', 'Testers']);
  });
});

describe('who may sign in', () => {
  it('RegisteredOnly refuses a developer without a portal account: the failure response, the reason logged, nothing created', async () => {
    await refused('dev-registered', 'Zoë Müller');
    expect(accountOf('zoe@example.org')).toEqual([]);
    expect(portal.adminCalls.some((c) => c.method === 'POST')).toBe(false);
    expect(failureLine('dev-registered')).toContain('RegisteredOnly');
  });

  it('RegisteredOnly lets in a developer whose account exists (found by email), reconciles it and keeps the link', async () => {
    const existing = portal.addUser({ Email: 'zoe@example.org', First: 'Zoë', Last: 'Müller' });
    const landing = await login('dev-registered', 'Zoë Müller');
    expect({ id: landing?.userId, teams: teamNames(existing.Teams), org: existing.OrganisationID, keys: existing.SsoKeys.length }).toEqual({ id: existing.ID, teams: ['Developers'], org: developers.OrganisationID, keys: 1 });
    expect(accountOf('zoe@example.org')).toHaveLength(1);
    // Linked: the next login reads that account by its ID instead of scanning the users.
    portal.adminCalls.length = 0;
    await login('dev-registered', 'Zoë Müller');
    expect(portal.adminCalls.map((c) => `${c.method} ${c.path}`)).toEqual([`GET /portal-api/users/${existing.ID}`]);
  });

  it('RegisteredOnly: once the account is deleted in the portal, the kept link finds nothing and the developer is refused again', async () => {
    const [account] = accountOf('zoe@example.org');
    portal.users.delete(account?.ID ?? -1);
    await refused('dev-registered', 'Zoë Müller');
    expect(portal.adminCalls.map((c) => `${c.method} ${c.path}`)).toContain(`GET /portal-api/users/${account?.ID}`);
    expect(accountOf('zoe@example.org')).toEqual([]);
  });

  it('a user whose groups map to no team (and no DefaultUserGroupID) is refused in "idp" mode before any portal call', async () => {
    // Refused by the explanation (src/identity/membership.ts), as an identity the profile cannot place.
    await refused('dev-idp', 'carol', 400);
    expect({ calls: portal.adminCalls, accounts: accountOf('carol@example.org') }).toEqual({ calls: [], accounts: [] });
    expect(failureLine('dev-idp')).toContain('reason="no IdP group maps to a portal team and the profile has no DefaultUserGroupID');
  });

  it('an account found by email (made with a password, no team) is reconciled, not duplicated', async () => {
    const existing = portal.addUser({ Email: 'carol@example.org', Provider: 'password' });
    await changeGroupMembers(slapd, 'developers', { add: ['carol'] });
    try {
      portal.adminCalls.length = 0;
      const landing = await login('dev-idp', 'carol');
      expect(accountOf('carol@example.org')).toHaveLength(1);
      expect({ id: landing?.userId, teams: teamNames(existing.Teams), org: existing.OrganisationID, role: existing.Role, active: existing.Active }).toEqual({
        id: existing.ID, teams: ['Developers'], org: developers.OrganisationID, role: 'consumer-admin', active: true,
      });
      expect(portal.adminCalls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`)).toEqual([`PUT /portal-api/users/${existing.ID}`]);
    } finally {
      await changeGroupMembers(slapd, 'developers', { remove: ['carol'] });
    }
  });

  it('two first logins at once (two tabs) make one account', async () => {
    // Gone from the portal: neither the kept link nor the email finds alice, so both logins create.
    for (const u of accountOf('alice@example.org')) portal.users.delete(u.ID);
    portal.adminCalls.length = 0;
    const [a, b] = await Promise.all([post('dev-idp', 'alice'), post('dev-idp', 'alice')]);
    expect([a.status, b.status]).toEqual([302, 302]);
    for (const res of [a, b]) await fetch(res.headers.location as string);
    const accounts = accountOf('alice@example.org');
    expect(accounts.map((u) => ({ teams: teamNames(u.Teams), role: u.Role }))).toEqual([{ teams: ['Developers'], role: 'consumer-admin' }]);
    // The portal keeps one nonce per SSO key (the developer record the SSO call updates), so the tab whose nonce
    // was replaced may be refused by the portal; whoever signs in, signs into that one account.
    const signedIn = portal.landings.slice(-2).filter((l) => l.outcome === 'signed-in');
    expect(signedIn.length).toBeGreaterThan(0);
    expect(signedIn.map((l) => l.userId)).toEqual(signedIn.map(() => accounts[0]?.ID));
  });

  it('an account an admin deactivated is active again at the next login: the directory decides (docs/portal-membership.md)', async () => {
    const [account] = accountOf('alice@example.org');
    if (account) account.Active = false;
    portal.adminCalls.length = 0;
    const landing = await login('dev-idp', 'alice');
    expect({ landing: landing?.outcome, active: account?.Active, writes: portal.adminCalls.filter((c) => c.method !== 'GET') }).toEqual({
      landing: 'signed-in', active: true, writes: [{ method: 'PUT', path: `/portal-api/users/${account?.ID}`, body: { Active: true } }],
    });
  });

  it('an account beyond the first page of users (more than 100) is found by email, not duplicated', async () => {
    for (const u of accountOf('alice@example.org')) portal.users.delete(u.ID);
    for (let i = 0; i < 120; i++) portal.addUser({ Email: `filler-${i}@example.net` });
    const existing = portal.addUser({ Email: 'alice@example.org', Provider: 'password' });
    portal.adminCalls.length = 0;
    const landing = await login('dev-idp', 'alice');
    expect({ id: landing?.userId, accounts: accountOf('alice@example.org').length, teams: teamNames(existing.Teams) }).toEqual({ id: existing.ID, accounts: 1, teams: ['Developers'] });
    expect(portal.adminCalls.map((c) => `${c.method} ${c.path}`)).toContain('GET /portal-api/users?page=2&per_page=100');
  });

  it('a portal admin (provider-admin) with the person\'s email is not touched: refused', async () => {
    const admin = portal.addUser({ Email: 'special@example.org', Role: 'provider-admin' });
    const before = structuredClone(admin);
    await refused('dev-idp', SPECIAL_UID);
    expect(portal.users.get(admin.ID)).toEqual(before);
    expect(failureLine('dev-idp')).toContain('provider-admin');
  });
});

describe('tib_portal_reconciles_total', () => {
  it('counts each reconcile by outcome', async () => {
    await login('dev-idp', 'bob');
    const before = await reconciles();
    // Gone from the portal: neither the kept link nor the email finds it, so the next login creates one.
    portal.users.delete(accountOf('bob@example.org')[0]?.ID ?? -1);
    await login('dev-idp', 'bob'); // created
    await login('dev-first', 'bob'); // updated (one team)
    await login('dev-idp', 'bob'); // updated (both again)
    await login('dev-idp', 'bob'); // unchanged
    await refused('dev-idp', SPECIAL_UID); // refused (the admin account)
    const after = await reconciles();
    const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
    expect(delta).toEqual({ created: 1, updated: 2, unchanged: 1, refused: 1, error: 0 });
  });
});

describe('the portal_account audit events', () => {
  it('record each change before -> after, the email and the names only as keyed hashes', async () => {
    const events = await portalEvents(1);
    const created = events.filter((e) => e.outcome === 'created');
    expect(created.length).toBeGreaterThan(0);
    const hashed = expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) as unknown;
    expect(created.at(-1)).toMatchObject({ changes: expect.arrayContaining([{ field: 'Email', before: '', after: hashed }, { field: 'First', before: '', after: hashed }, { field: 'Last', before: '', after: hashed }]) as unknown });
    const text = await fs.readFile(auditPath, 'utf8');
    expect(text).not.toMatch(/@example\.org/);
    // bob's and alice's names (test/support/slapd.ts USERS).
    expect(text).not.toMatch(/Builder|Alice|"Bob"/);
  });
});
