/**
 * "idp" membership (issue 19, items 2 and 3; src/portal/reconcile.ts, src/portal/directory.ts) with the groups
 * claim of the suite's OpenID Provider (test/support/oidc-op.ts) and the portal stand-in (test/support/portal-stub.ts,
 * its admin API validated against the published OpenAPI document): a person whose groups change at the IdP moves
 * teams at the next login ("idp"), and not in "portal" mode; a team named by CID resolves on a portal that shows
 * CIDs and fails, naming CIDs, on one that does not (the 1.14.0 document); a team made in the portal after the
 * broker started is found (the directory reloads once on an unknown name).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, OP_ACCOUNTS, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';
import { freePort } from '../../support/slapd.js';

const SECRET = 'portal-api-secret-for-membership-oidc';
const TOKEN = 'portal-admin-token-for-membership-oidc';
const CLIENT_SECRET = 'oidc-client-secret-for-membership-oidc';
const PROFILES = ['idp', 'portal-mode', 'by-cid', 'by-cid-no-cids'];
/** Accounts of this file only: their groups claim is changed between logins (the OP reads OP_ACCOUNTS at each one). */
const PEOPLE = {
  mover: { email: 'mover@example.com', email_verified: true, given_name: 'Mo', family_name: 'Ver', name: 'Mo Ver', groups: ['devs'] },
  stayer: { email: 'stayer@example.com', email_verified: true, given_name: 'Stay', family_name: 'Er', name: 'Stay Er', groups: ['devs'] },
  cider: { email: 'cider@example.com', email_verified: true, given_name: 'Ci', family_name: 'Der', name: 'Ci Der', groups: ['devs'] },
  newbie: { email: 'newbie@example.com', email_verified: true, given_name: 'New', family_name: 'Bie', name: 'New Bie', groups: ['newcomers'] },
  /** Claims mover's address without having verified it. */
  impostor: { email: 'mover@example.com', email_verified: false, given_name: 'Im', family_name: 'Postor', name: 'Im Postor', groups: ['qa'] },
};
/** A CID of the right shape that no portal has. */
const SOME_CID = '2r7p8aUnkzby17hCJk8w2XvK3K6';

let op: TestOp;
/** The portal most profiles use (no CIDs, as 1.14.0 publishes it). */
let portal: PortalStub;
/** A portal whose organisations and teams carry CIDs. */
let cidPortal: PortalStub;
/** Another portal without CIDs, for the CID profile that must fail (its own directory, its own reload budget). */
let plainPortal: PortalStub;
let broker: TestBroker;
let base: string;

const callbackOf = (id: string) => `${base}/auth/${id}/openid-connect/callback`;
const groupsOf = (user: keyof typeof PEOPLE, groups: string[]) => ((OP_ACCOUNTS[user] as { groups: string[] }).groups = groups);

beforeAll(async () => {
  Object.assign(OP_ACCOUNTS, structuredClone(PEOPLE));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  [portal, cidPortal, plainPortal] = await Promise.all([
    startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN }),
    startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN, cids: true }),
    startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN }),
  ]);
  const acme = portal.addOrganisation('Acme');
  portal.addTeam(acme.ID, 'Developers');
  portal.addTeam(acme.ID, 'Testers');
  const cidAcme = cidPortal.addOrganisation('Acme');
  cidPortal.addTeam(cidAcme.ID, 'Testers');
  const cidDevelopers = cidPortal.addTeam(cidAcme.ID, 'Developers');
  const plainAcme = plainPortal.addOrganisation('Acme');
  plainPortal.addTeam(plainAcme.ID, 'Developers');

  op = await startTestOp({ redirectUris: PROFILES.map(callbackOf), clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET }] });
  /** A developer profile on this portal (its own TykAPISettings), signing in through the OP with the groups claim. */
  const profile = (id: string, target: PortalStub, over: Record<string, unknown>) =>
    oidcProfile({
      id,
      discoveryUrl: op.discoveryUrl,
      callbackBase: base,
      returnUrl: `${target.url}/sso`,
      credential: SECRET,
      key: 'broker',
      secret: CLIENT_SECRET,
      scopes: ['openid', 'email', 'profile', 'groups'],
      orgId: '0',
      profile: {
        ActionType: 'GenerateOrLoginDeveloperProfile',
        CustomUserGroupField: 'groups',
        Membership: { Authority: 'idp' },
        TykAPISettings: { DashboardConfig: { Endpoint: target.endpoint, Port: target.port }, PortalAPIConfig: { Endpoint: target.url, AdminToken: TOKEN } },
        ...over,
      },
    });
  const mapping = { devs: 'Acme/Developers', qa: 'Acme/Testers', newcomers: 'Acme/Newcomers' };
  broker = await startTestBroker({
    port,
    config: { SessionSecret: 'session-secret-for-portal-membership-oidc-0123456789', BruteForce: { UsernameLimit: 0, IPLimit: 0 } },
    profiles: [
      profile('idp', portal, { UserGroupMapping: mapping }),
      profile('portal-mode', portal, { UserGroupMapping: mapping, Membership: { Authority: 'portal' } }),
      profile('by-cid', cidPortal, { UserGroupMapping: { devs: `cid:${cidDevelopers.CID ?? ''}` } }),
      profile('by-cid-no-cids', plainPortal, { UserGroupMapping: { devs: `cid:${SOME_CID}` } }),
    ],
  });
}, 60_000);
afterAll(async () => {
  for (const name of Object.keys(PEOPLE)) delete OP_ACCOUNTS[name];
  await broker?.close();
  await op?.close();
  await Promise.all([portal?.close(), cidPortal?.close(), plainPortal?.close()]);
});
afterEach(() => {
  for (const p of [portal, cidPortal, plainPortal]) expect(p.violations).toEqual([]);
});

/** A whole login: the broker, the OP's pages, the callback; the broker's answer to the callback. */
async function callback(id: string, user: string): Promise<Response> {
  const jar = new CookieJar();
  const start = await fetchWithJar(`${base}/auth/${id}/openid-connect`, jar);
  const at = await loginAtOp(start.headers.get('location') ?? '', jar, user, callbackOf(id));
  return fetchWithJar(at, jar);
}

/** A login that lands at the portal; the account the portal signed the person into. */
async function login(id: string, user: string, target: PortalStub = portal) {
  const res = await callback(id, user);
  expect(res.status).toBe(302);
  const location = res.headers.get('location') ?? '';
  expect(location.startsWith(`${target.url}/sso?nonce=`)).toBe(true);
  const landing = await fetch(location);
  expect(landing.status).toBe(200);
  const signedIn = target.landings.at(-1);
  expect(signedIn?.outcome).toBe('signed-in');
  const account = target.users.get(signedIn?.userId ?? -1);
  return { user: account, teams: (account?.Teams ?? []).map((t) => target.teams.get(t)?.Name).sort() };
}

describe('"idp" membership with an OpenID Connect groups claim', () => {
  it('a person whose groups change at the IdP moves teams at the next login', async () => {
    groupsOf('mover', ['devs']);
    const first = await login('idp', 'mover');
    expect({ teams: first.teams, email: first.user?.Email, role: first.user?.Role }).toEqual({ teams: ['Developers'], email: 'mover@example.com', role: 'consumer-team-member' });

    groupsOf('mover', ['qa']);
    const moved = await login('idp', 'mover');
    expect(moved.user?.ID).toBe(first.user?.ID);
    expect(moved.teams).toEqual(['Testers']);
    const puts = portal.adminCalls.filter((c) => c.method === 'PUT' && c.path === `/portal-api/users/${first.user?.ID}`);
    expect(puts.at(-1)?.body).toMatchObject({ Teams: moved.user?.Teams.map(String) });

    groupsOf('mover', ['devs', 'qa']);
    expect((await login('idp', 'mover')).teams).toEqual(['Developers', 'Testers']);
  });

  it('in "portal" mode the same move never reaches the portal (frozen at the first team, as TIB)', async () => {
    groupsOf('stayer', ['devs']);
    expect((await login('portal-mode', 'stayer')).teams).toEqual(['Developers']);
    groupsOf('stayer', ['qa']);
    expect((await login('portal-mode', 'stayer')).teams).toEqual(['Developers']);
  });

  it('a person whose groups map to no team is refused, and nothing is written', async () => {
    groupsOf('mover', ['nobody']);
    portal.adminCalls.length = 0;
    const res = await callback('idp', 'mover');
    expect(res.status).toBe(400);
    expect(portal.adminCalls.filter((c) => c.method !== 'GET')).toEqual([]);
    expect(broker.logs.filter((l) => l.includes('login failed') && l.includes('no IdP group maps to a portal team'))).toHaveLength(1);
  });

  it("an unverified email never reconciles the account of that address: refused before any portal call", async () => {
    const mover = [...portal.users.values()].find((u) => u.Email === 'mover@example.com');
    const teams = [...(mover?.Teams ?? [])];
    expect(teams.length).toBeGreaterThan(0);
    portal.adminCalls.length = 0;
    const res = await callback('idp', 'impostor');
    expect(res.status).not.toBe(302);
    expect(portal.adminCalls).toEqual([]);
    expect(mover?.Teams).toEqual(teams);
  });
});

describe('teams named by CID', () => {
  it('resolve on a portal that shows CIDs', async () => {
    const { teams, user } = await login('by-cid', 'cider', cidPortal);
    expect(teams).toEqual(['Developers']);
    expect(cidPortal.organisations.get(user?.OrganisationID ?? -1)?.Name).toBe('Acme');
  });

  it('fail on a portal without CIDs (the published 1.14.0 document), the reason naming CIDs, with nothing written', async () => {
    const res = await callback('by-cid-no-cids', 'cider');
    expect(res.status).toBe(403);
    expect(plainPortal.users.size).toBe(0);
    expect(plainPortal.adminCalls.filter((c) => c.method !== 'GET')).toEqual([]);
    const failed = broker.logs.filter((l) => l.includes('login failed') && l.includes('by-cid-no-cids'));
    expect(failed).toEqual([expect.stringContaining('the portal shows no team CIDs')]);
    expect(failed[0]).toContain(`cid:${SOME_CID}`);
  });
});

describe('the directory', () => {
  it('finds a team made in the portal after the broker started (one reload on an unknown name)', async () => {
    // The directory has been read by the logins above, before Acme/Newcomers existed.
    portal.addTeam([...portal.organisations.values()].find((o) => o.Name === 'Acme')?.ID ?? -1, 'Newcomers');
    portal.adminCalls.length = 0;
    groupsOf('newbie', ['newcomers']);
    expect((await login('idp', 'newbie')).teams).toEqual(['Newcomers']);
    // Read again once (every page of organisations, then their teams).
    expect(portal.adminCalls.filter((c) => c.path.startsWith('/portal-api/organisations?page=1&'))).toHaveLength(1);
  });
});
