/**
 * The portal stand-in's own contract (test/support/portal-stub.ts): the SSO flow driven by the broker's real
 * Portal SSO action (SSO key, then email, then a new API Consumer Admin; the team sets the organisation; frozen
 * after the first team; an inactive account refused), the admin API's auth, paging, error shapes, writes and
 * record of calls, organisation and team CIDs (the `cids` option), injected faults, and that a request or
 * response breaking the published OpenAPI document is caught.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ActionInput } from '../../../src/actions/action.js';
import { createPortalSso } from '../../../src/actions/portal-sso.js';
import { defaultConfig } from '../../../src/config/load.js';
import { getLogger } from '../../../src/log.js';
import { validateProfile } from '../../../src/profiles/validate.js';
import { MemoryIdentityCache } from '../../../src/state/identity-cache.js';
import { createTykApi, type TykApi } from '../../../src/tyk/client.js';
import { resolveUserId } from '../../support/identity.js';
import { startPortalStub, type PortalStub, type PortalStubOptions } from '../../support/portal-stub.js';
import { FIRST } from '../../support/rules.js';

const SECRET = 'portal-api-secret';
const TOKEN = 'portal-admin-api-token';
let portal: PortalStub;
let tyk: TykApi;
const config = defaultConfig();

beforeAll(async () => {
  portal = await startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN });
  config.TykAPISettings.DashboardConfig = { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' };
  tyk = createTykApi(config, { timeoutMs: 2000 });
});
afterAll(async () => {
  await tyk.close();
  await portal.close();
});
// Every test leaves the stand-in without a contract violation (the violation tests clear what they caused).
afterEach(() => {
  portal.setAdminFault('none');
  expect(portal.violations).toEqual([]);
});

const profile = () => {
  const r = validateProfile({
    ID: 'dev', OrgID: '0', ActionType: 'GenerateOrLoginDeveloperProfile', ProviderName: 'ADProvider', Type: 'passthrough',
    ReturnURL: 'http://portal.example/sso', IdentityHandlerConfig: { DashboardCredential: SECRET },
    ProviderConfig: { LDAPServer: 'h', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*' },
  }, FIRST);
  if (!r.profile) throw new Error(JSON.stringify(r.problems));
  return r.profile;
};

/** One login as the broker does it (src/actions/portal-sso.ts), then the browser landing on the portal's /sso. */
async function login(userId: string, email: string, teams: string[]) {
  const p = profile();
  const identity = { userId, email, displayName: 'Ada Lovelace', firstName: 'Ada', lastName: 'Lovelace', raw: {}, provider: 'ADProvider' };
  const merged = { profile: p, identity, teams, email, displayName: 'Ada Lovelace' };
  const id = resolveUserId(p, identity);
  const input: ActionInput = { userId: id.ok ? id.value : '', ...merged };
  const r = await createPortalSso(p, { config, log: getLogger('TEST'), tyk, identityCache: new MemoryIdentityCache() }).run(input);
  if (r.kind !== 'redirect') throw new Error(`the action answered ${JSON.stringify(r)}`);
  const nonce = new URL(r.url).searchParams.get('nonce') ?? '';
  const landing = await fetch(`${portal.url}/sso?nonce=${nonce}`);
  return { status: landing.status, landing: portal.landings.at(-1) };
}

const admin = (path: string, init: RequestInit = {}, token = TOKEN, on = portal) =>
  fetch(`${on.url}/portal-api${path}`, { ...init, headers: { Authorization: token, 'Content-Type': 'application/json', ...init.headers } });
const json = async (r: Response) => ({ status: r.status, body: (await r.json()) as unknown });

describe('SSO flow', () => {
  it('a new person becomes an API Consumer Admin in the team the login names, and the team sets the organisation', async () => {
    const org = portal.addOrganisation('Acme');
    const team = portal.addTeam(org.ID, 'Acme partners');
    const { status, landing } = await login('newcomer', 'newcomer@acme.example', [String(team.ID)]);
    expect([status, landing?.outcome]).toEqual([200, 'signed-in']);
    const user = await json(await admin(`/users/${landing?.userId}`));
    expect(user).toMatchObject({ status: 200, body: { Email: 'newcomer@acme.example', Role: 'consumer-admin', OrganisationID: org.ID, Organisation: 'Acme', Teams: [{ ID: team.ID, Name: 'Acme partners' }] } });
  });

  it('is frozen after the first team: a later login naming another team changes neither team nor organisation', async () => {
    const a = portal.addOrganisation('Frozen A');
    const b = portal.addOrganisation('Frozen B');
    const ta = portal.addTeam(a.ID, 'A team');
    const tb = portal.addTeam(b.ID, 'B team');
    const first = await login('frozen', 'frozen@example.com', [String(ta.ID)]);
    const again = await login('frozen', 'frozen@example.com', [String(tb.ID)]);
    expect(again.landing).toMatchObject({ outcome: 'signed-in', userId: first.landing?.userId });
    expect(await json(await admin(`/users/${first.landing?.userId}`))).toMatchObject({ body: { OrganisationID: a.ID, Teams: [{ ID: ta.ID }] } });
  });

  it('finds the account by SSO key first, then by email (linking the key), and gives no team and no organisation without a team ID', async () => {
    const existing = portal.addUser({ Email: 'Grace@Example.com', Role: 'consumer-team-member' });
    const byEmail = await login('grace', 'grace@example.com', []);
    expect(byEmail.landing).toMatchObject({ outcome: 'signed-in', userId: existing.ID });
    expect(portal.users.get(existing.ID)?.SsoKeys).toEqual(['grace@ADProvider.com']);
    // The same SSO key with a changed email still finds the account: the key is looked up before the email.
    const byKey = await login('grace', 'grace.hopper@example.com', []);
    expect(byKey.landing?.userId).toBe(existing.ID);
    expect(await json(await admin(`/users/${existing.ID}`))).toMatchObject({ body: { Role: 'consumer-team-member', OrganisationID: 0, Teams: [] } });
  });

  it('an inactive account is refused, found by SSO key or by email, and no key is linked to it', async () => {
    const byEmail = portal.addUser({ Email: 'idle@example.com', Active: false });
    const r = await login('idle', 'idle@example.com', []);
    expect([r.status, r.landing?.outcome, r.landing?.reason]).toEqual([403, 'failed', 'account inactive']);
    expect(portal.users.get(byEmail.ID)?.SsoKeys).toEqual([]);
    const byKey = portal.addUser({ Email: 'other@example.com', Active: false, SsoKeys: ['dormant@ADProvider.com'] });
    expect((await login('dormant', 'dormant@example.com', [])).landing).toMatchObject({ outcome: 'failed', reason: 'account inactive' });
    // Active again: the same login goes through.
    (portal.users.get(byKey.ID) as { Active: boolean }).Active = true;
    expect((await login('dormant', 'dormant@example.com', [])).landing).toMatchObject({ outcome: 'signed-in', userId: byKey.ID });
  });

  it('a team ID that does not exist fails the login and writes no account', async () => {
    const before = portal.users.size;
    const r = await login('ghost', 'ghost@example.com', ['999999']);
    expect([r.status, r.landing?.outcome, r.landing?.reason]).toEqual([403, 'failed', 'team 999999 does not exist']);
    expect(portal.users.size).toBe(before);
  });

  it('the SSO endpoints refuse a wrong PORTAL_API_SECRET, and a nonce works once', async () => {
    expect((await fetch(`${portal.url}/api/sso`, { method: 'POST', headers: { Authorization: 'wrong' }, body: '{}' })).status).toBe(401);
    const org = portal.addOrganisation('Once');
    const { landing } = await login('once', 'once@example.com', [String(portal.addTeam(org.ID, 'Once team').ID)]);
    expect((await fetch(`${portal.url}/sso?nonce=${landing?.nonce}`)).status).toBe(403);
  });
});

describe('admin API', () => {
  it('refuses a missing or wrong Authorization with the documented error shape', async () => {
    expect(await json(await admin('/users', {}, ''))).toEqual({ status: 401, body: { errors: ['Not authorised'] } });
    expect(await json(await admin('/organisations', {}, 'wrong'))).toEqual({ status: 401, body: { errors: ['Not authorised'] } });
  });

  it('pages users, organisations and teams with page and per_page (20 by default)', async () => {
    const org = portal.addOrganisation('Paged');
    for (let i = 0; i < 25; i++) portal.addTeam(org.ID, `team ${i}`);
    for (let i = 0; i < 30; i++) portal.addUser({ Email: `paged${i}@example.com` });
    const all = [...portal.users.keys()];
    const ids = async (path: string) => ((await (await admin(path)).json()) as Array<{ ID: number }>).map((u) => u.ID);
    expect(await ids('/users')).toEqual(all.slice(0, 20));
    expect(await ids('/users?page=2&per_page=7')).toEqual(all.slice(7, 14));
    expect(await ids(`/users?page=${Math.ceil(all.length / 10) + 1}&per_page=10`)).toEqual([]);
    expect(await ids(`/organisations/${org.ID}/teams`)).toHaveLength(20);
    expect(await ids(`/organisations/${org.ID}/teams?page=2`)).toHaveLength(5);
    expect(await ids('/organisations?per_page=1&page=1')).toEqual([[...portal.organisations.keys()][0]]);
  });

  it('creates and updates a user; Teams set the organisation; the team and organisation list the user', async () => {
    const org = portal.addOrganisation('Reconciled');
    const t1 = portal.addTeam(org.ID, 'one', true);
    const t2 = portal.addTeam(org.ID, 'two');
    const created = await json(await admin('/users', { method: 'POST', body: JSON.stringify({ Email: 'rec@example.com', First: 'Rec', Last: 'On', Role: 'consumer-team-member', Provider: 'ldap' }) }));
    expect(created).toMatchObject({ status: 200, body: { Email: 'rec@example.com', OrganisationID: 0, Teams: [] } });
    const id = (created.body as { ID: number }).ID;
    const updated = await json(await admin(`/users/${id}`, { method: 'PUT', body: JSON.stringify({ Teams: [String(t1.ID), String(t2.ID)] }) }));
    expect(updated).toMatchObject({ status: 200, body: { OrganisationID: org.ID, Teams: [{ ID: t1.ID }, { ID: t2.ID }] } });
    expect(await json(await admin(`/organisations/${org.ID}/teams/${t2.ID}`))).toMatchObject({ status: 200, body: { Name: 'two', Users: [String(id)] } });
    expect(await json(await admin(`/organisations/${org.ID}`))).toMatchObject({ body: { Name: 'Reconciled', Teams: [{ ID: t1.ID, Default: true }, { ID: t2.ID }], Users: [{ ID: id }] } });
  });

  it('answers the documented error shapes: 404 for an unknown user, organisation or team, 422 for a bad update', async () => {
    expect(await json(await admin('/users/999999'))).toEqual({ status: 404, body: { errors: ['User not found'] } });
    expect(await json(await admin('/organisations/999999'))).toEqual({ status: 404, body: { errors: ['Organisation not found'] } });
    expect(await json(await admin('/users/999999', { method: 'PUT', body: '{}' }))).toEqual({ status: 422, body: { errors: ['User not found'] } });
    const u = portal.addUser({ Email: 'bad-update@example.com' });
    expect(await json(await admin(`/users/${u.ID}`, { method: 'PUT', body: JSON.stringify({ Teams: ['999999'] }) }))).toEqual({ status: 422, body: { errors: ['Team not found'] } });
    const other = portal.addTeam(portal.addOrganisation('Elsewhere').ID, 'elsewhere');
    const mine = portal.addOrganisation('Mine');
    expect((await admin(`/organisations/${mine.ID}/teams/${other.ID}`)).status).toBe(404);
  });

  it('refuses a Teams element that is not a team ID as an integer string, changing nothing', async () => {
    const org = portal.addOrganisation('Strict');
    const team = portal.addTeam(org.ID, 'strict');
    const u = portal.addUser({ Email: 'strict@example.com' });
    for (const bad of ['cid:abc', 'Strict/strict', '', ' 1', '1.0', '-1']) {
      const r = await json(await admin(`/users/${u.ID}`, { method: 'PUT', body: JSON.stringify({ Teams: [String(team.ID), bad] }) }));
      expect(r).toEqual({ status: 422, body: { errors: [`Team ID ${JSON.stringify(bad)} is not an integer`] } });
    }
    expect(portal.users.get(u.ID)).toMatchObject({ Teams: [], OrganisationID: 0 });
  });

  it('deletes a user: 200 with the Status shape, then 404 for it', async () => {
    const u = portal.addUser({ Email: 'leaving@example.com' });
    expect(await json(await admin(`/users/${u.ID}`, { method: 'DELETE' }))).toEqual({ status: 200, body: { status: 'ok' } });
    expect(portal.users.has(u.ID)).toBe(false);
    expect(await json(await admin(`/users/${u.ID}?force=true`, { method: 'DELETE' }))).toEqual({ status: 404, body: { errors: ['User not found'] } });
    expect((await admin(`/users/${u.ID}`)).status).toBe(404);
  });

  it('creates an organisation and a team in it; an unknown organisation is 404, a missing Name 422', async () => {
    const org = await json(await admin('/organisations', { method: 'POST', body: JSON.stringify({ Name: 'Created' }) }));
    expect(org).toMatchObject({ status: 200, body: { Name: 'Created', Teams: [], Users: [] } });
    const orgId = (org.body as { ID: number }).ID;
    const team = await json(await admin(`/organisations/${orgId}/teams`, { method: 'POST', body: JSON.stringify({ Name: 'Created team' }) }));
    expect(team).toMatchObject({ status: 200, body: { Name: 'Created team', Users: [] } });
    expect(portal.teams.get((team.body as { ID: number }).ID)).toMatchObject({ OrganisationID: orgId, Default: false });
    expect(await json(await admin(`/organisations/${orgId}`))).toMatchObject({ body: { Teams: [{ Name: 'Created team' }] } });
    expect(await json(await admin('/organisations/999999/teams', { method: 'POST', body: JSON.stringify({ Name: 'x' }) }))).toEqual({ status: 404, body: { errors: ['Organisation not found'] } });
    expect(await json(await admin('/organisations', { method: 'POST', body: '{}' }))).toEqual({ status: 422, body: { errors: ['Name is required'] } });
  });

  it('records every admin call with its path, query and body, refused ones included, and no SSO call', async () => {
    const u = portal.addUser({ Email: 'recorded@example.com' });
    portal.adminCalls.length = 0;
    await admin('/users?page=1&per_page=100');
    await admin(`/users/${u.ID}`, { method: 'PUT', body: JSON.stringify({ First: 'Rec' }) });
    await admin('/organisations', {}, 'wrong');
    await fetch(`${portal.url}/api/sso`, { method: 'POST', headers: { Authorization: SECRET }, body: '{}' });
    expect(portal.adminCalls).toEqual([
      { method: 'GET', path: '/portal-api/users?page=1&per_page=100' },
      { method: 'PUT', path: `/portal-api/users/${u.ID}`, body: { First: 'Rec' } },
      { method: 'GET', path: '/portal-api/organisations' },
    ]);
  });
});

describe('CIDs (the cids option)', () => {
  let withCids: PortalStub;
  const options: PortalStubOptions = { portalApiSecret: SECRET, adminToken: TOKEN, cids: true };
  beforeAll(async () => {
    withCids = await startPortalStub(options);
  });
  afterAll(() => withCids.close());
  afterEach(() => expect(withCids.violations).toEqual([]));
  const get = async (path: string) => json(await admin(path, {}, TOKEN, withCids));
  const CID = /^[0-9A-Za-z]{27}$/;

  it('organisations and teams carry a stable CID in every element the admin API returns, and the document accepts it', async () => {
    const org = withCids.addOrganisation('With CIDs');
    const team = withCids.addTeam(org.ID, 'cid team');
    expect([org.CID, team.CID]).toEqual([expect.stringMatching(CID), expect.stringMatching(CID)]);
    expect(org.CID).not.toBe(team.CID);
    const u = withCids.addUser({ Email: 'cid@example.com', OrganisationID: org.ID, Teams: [team.ID] });
    const teamElem = { ID: team.ID, CID: team.CID };
    expect(await get('/organisations')).toMatchObject({ status: 200, body: [{ ID: org.ID, CID: org.CID }] });
    expect(await get(`/organisations/${org.ID}`)).toMatchObject({ status: 200, body: { CID: org.CID, Teams: [teamElem] } });
    expect(await get(`/organisations/${org.ID}/teams`)).toMatchObject({ status: 200, body: [teamElem] });
    expect(await get(`/organisations/${org.ID}/teams/${team.ID}`)).toMatchObject({ status: 200, body: teamElem });
    expect(await get(`/users/${u.ID}`)).toMatchObject({ status: 200, body: { Teams: [teamElem] } });
    // Stable: asked again, the same CIDs.
    expect(await get(`/organisations/${org.ID}`)).toMatchObject({ body: { CID: org.CID, Teams: [teamElem] } });
    const created = await json(await admin('/organisations', { method: 'POST', body: JSON.stringify({ Name: 'Posted' }) }, TOKEN, withCids));
    expect(created).toMatchObject({ status: 200, body: { CID: expect.stringMatching(CID) } });
  });

  it('without the option (1.14.0 as published) there is no CID', async () => {
    const org = portal.addOrganisation('As published');
    const team = portal.addTeam(org.ID, 'plain');
    expect([org.CID, team.CID]).toEqual([undefined, undefined]);
    const shown = await json(await admin(`/organisations/${org.ID}`));
    expect(JSON.stringify(shown.body)).not.toContain('CID');
  });
});

describe('admin faults', () => {
  it("'down' destroys the socket without an answer, and the SSO endpoints stay up", async () => {
    portal.setAdminFault('down');
    await expect(admin('/users')).rejects.toThrow('fetch failed');
    expect((await fetch(`${portal.url}/api/sso`, { method: 'POST', headers: { Authorization: SECRET }, body: '{}' })).status).toBe(200);
    expect(portal.adminCalls.at(-1)).toEqual({ method: 'GET', path: '/portal-api/users' });
  });

  it('a delay answers the real answer that late', async () => {
    const u = portal.addUser({ Email: 'slow@example.com' });
    portal.setAdminFault({ delayMs: 300 });
    const started = Date.now();
    expect(await json(await admin(`/users/${u.ID}`))).toMatchObject({ status: 200, body: { Email: 'slow@example.com' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('a status answers it with the errors shape until set back to none; a login still lands', async () => {
    portal.setAdminFault({ status: 503 });
    expect(await json(await admin('/organisations'))).toEqual({ status: 503, body: { errors: ['injected fault: status 503'] } });
    const org = portal.addOrganisation('Faulted');
    const { landing } = await login('faulted', 'faulted@example.com', [String(portal.addTeam(org.ID, 'f').ID)]);
    expect(landing?.outcome).toBe('signed-in');
    portal.setAdminFault('none');
    expect((await admin('/organisations')).status).toBe(200);
  });
});

describe('contract validation', () => {
  it('a response that breaks the published schema answers 500 and is recorded', async () => {
    const u = portal.addUser({ Email: 'broken@example.com' });
    portal.breakNextResponse();
    const r = await json(await admin(`/users/${u.ID}`));
    expect(r.status).toBe(500);
    expect(portal.violations).toEqual([expect.objectContaining({ method: 'GET', path: `/portal-api/users/${u.ID}`, message: expect.stringContaining('ID must be integer') })]);
    portal.violations.length = 0;
  });

  it('an error status the document does not declare (401) must still have its error shape', async () => {
    portal.breakNextResponse();
    expect((await admin('/users', {}, 'wrong')).status).toBe(500);
    expect(portal.violations).toEqual([expect.objectContaining({ path: '/portal-api/users', message: "no schema defined for status code '401' in the openapi spec" })]);
    portal.violations.length = 0;
  });

  it('requests outside the document (a bad parameter, an unknown query parameter, an undocumented path) are violations', async () => {
    expect((await admin('/users?page=first')).status).toBe(500);
    expect((await admin('/users?email=ada@example.com')).status).toBe(500);
    expect((await admin('/users/1/nothing-here')).status).toBe(500);
    expect((await admin('/users', { method: 'POST', body: JSON.stringify({ Email: 42 }) })).status).toBe(500);
    expect(portal.violations.map((v) => v.message)).toEqual([
      expect.stringContaining('page must be integer'),
      expect.stringContaining('email'),
      expect.stringContaining('not found'),
      expect.stringContaining('Email must be string'),
    ]);
    portal.violations.length = 0;
  });
});
