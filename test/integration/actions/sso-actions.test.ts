/**
 * The dashboard and portal SSO actions against the recording Tyk stub: exact wire format, the fallback
 * rule, developer create-then-update keeping unknown fields, and every upstream failure within the timeout.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ActionInput } from '../../../src/actions/action.js';
import { createDashboardSso } from '../../../src/actions/dashboard-sso.js';
import { createPortalSso } from '../../../src/actions/portal-sso.js';
import { defaultConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';
import { getLogger } from '../../../src/log.js';
import { completeLogin } from '../../../src/login/complete.js';
import type { Profile } from '../../../src/profiles/profile.js';
import { validateProfile } from '../../../src/profiles/validate.js';
import { createTykApi, type TykApi } from '../../../src/tyk/client.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';
import { FIRST } from '../../support/rules.js';
import { resolveUserId } from '../../support/identity.js';
import { MemoryIdentityCache } from '../../../src/state/identity-cache.js';

const CRED = 'dashboard-user-credential';
const ADMIN = 'dashboard-admin-secret';
let stub: TykStub;
let tyk: TykApi;
let config: Config;

beforeAll(async () => {
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  config = defaultConfig();
  config.TykAPISettings.DashboardConfig = { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN };
  tyk = createTykApi(config, { timeoutMs: 800 });
});
afterAll(async () => {
  await tyk.close();
  await stub.close();
});
beforeEach(() => stub.reset());

function profile(over: Record<string, unknown> = {}): Profile {
  const r = validateProfile({
    ID: 'p1',
    OrgID: 'org-1',
    ActionType: 'GenerateOrLoginUserProfile',
    ProviderName: 'ADProvider',
    ReturnURL: 'http://dash.example.com/tap',
    IdentityHandlerConfig: { DashboardCredential: CRED },
    ProviderConfig: { LDAPServer: 'h', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*' },
    ...over,
  }, FIRST);
  if (!r.profile) throw new Error(JSON.stringify(r.problems));
  return r.profile;
}

const input = (p: Profile, over: Partial<ActionInput> = {}): ActionInput => {
  const merged = {
    profile: p,
    identity: { userId: 'ada', email: 'ada@example.com', displayName: '', firstName: 'Ada', lastName: 'L', raw: {}, provider: 'ADProvider' },
    teams: ['t1', 't2'],
    email: 'ada@example.com',
    displayName: 'Ada L',
    ...over,
  };
  // The user id as the pipeline resolves it (src/identity/explain.ts), CustomUserIDField applied.
  const id = resolveUserId(p, merged.identity);
  return { userId: id.ok ? id.value : '', ...merged };
};
const log = getLogger('TEST');

describe('GenerateOrLoginUserProfile (dashboard)', () => {
  it('POSTs /api/sso with the credential and TIB body, then redirects to ReturnURL?nonce=', async () => {
    const p = profile();
    const r = await createDashboardSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() }).run(input(p));
    expect(stub.requests).toHaveLength(1);
    const req = stub.requests[0]!;
    expect([req.method, req.path, req.headers.authorization]).toEqual(['POST', '/api/sso', CRED]);
    expect(req.raw).toBe('{"ForSection":"dashboard","OrgID":"org-1","EmailAddress":"ada@example.com","DisplayName":"Ada L","GroupID":"t1","GroupsIDs":["t1","t2"],"SSOOnlyForRegisteredUsers":false}');
    expect(r).toEqual({ kind: 'redirect', url: `http://dash.example.com/tap?nonce=${stub.issuedNonces[0]}` });
  });

  it('adds nonce properly to a ReturnURL that already has a query and a fragment', async () => {
    const p = profile({ ReturnURL: 'http://dash.example.com/tap?x=1#frag' });
    const r = await createDashboardSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() }).run(input(p, { teams: [] }));
    expect(r).toEqual({ kind: 'redirect', url: `http://dash.example.com/tap?x=1&nonce=${stub.issuedNonces.at(-1)}#frag` });
    expect(stub.requests[0]?.body).toMatchObject({ GroupID: '', GroupsIDs: [] });
  });

  it("answers TIB's text without a ReturnURL", async () => {
    const p = profile({ ReturnURL: '' });
    expect(await createDashboardSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() }).run(input(p))).toEqual({ kind: 'text', status: 200, body: "Check with your admin why there's no URI defined" });
  });

  it('uses /admin/sso only without a credential or when /api/sso is missing (404/405)', async () => {
    const noCred = profile({ IdentityHandlerConfig: {} });
    expect((await createDashboardSso(noCred, { config, log, tyk, identityCache: new MemoryIdentityCache() }).run(input(noCred))).kind).toBe('redirect');
    expect(stub.requests.map((r) => [r.path, r.headers['admin-auth']])).toEqual([['/admin/sso', ADMIN]]);
    stub.reset();
    const p = profile();
    stub.failNext('/api/sso', 405);
    expect((await createDashboardSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() }).run(input(p))).kind).toBe('redirect');
    expect(stub.requests.map((r) => r.path)).toEqual(['/api/sso', '/admin/sso']);
  });

  it('never falls back on a 401 (a wrong credential must not escalate to the admin secret)', async () => {
    const p = profile({ IdentityHandlerConfig: { DashboardCredential: 'wrong' } });
    const r = await createDashboardSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() }).run(input(p));
    expect(r).toMatchObject({ kind: 'failure', failure: { status: 502, message: 'Login failed', reason: 'POST /api/sso answered 401' } });
    expect(stub.requests.map((r) => r.path)).toEqual(['/api/sso']);
  });

  it('500, a hang and a down Dashboard are failures within the timeout', async () => {
    const p = profile();
    const action = createDashboardSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() });
    stub.failNext('/api/sso', 500);
    expect(await action.run(input(p))).toMatchObject({ kind: 'failure', failure: { status: 502 } });
    stub.failNext('/api/sso', 'hang');
    expect(await action.run(input(p))).toMatchObject({ kind: 'failure', failure: { status: 504, reason: expect.stringContaining('no answer within 800 ms') } });
    const down = defaultConfig();
    down.TykAPISettings.DashboardConfig = { Endpoint: 'http://127.0.0.1', Port: '1', AdminSecret: '' };
    const downApi = createTykApi(down, { timeoutMs: 800 });
    expect(await createDashboardSso(p, { config: down, log, tyk: downApi, identityCache: new MemoryIdentityCache() }).run(input(p))).toMatchObject({ kind: 'failure', failure: { status: 502, reason: expect.stringContaining('ECONNREFUSED') } });
    await downApi.close();
  });
});

describe('GenerateOrLoginUserProfile: the organisation from a claim (src/identity/org.ts)', () => {
  // The keys on a validated profile, as profiles.json will carry them (CustomUserOrgField, OrgMapping, DefaultOrgID).
  const withOrg = (org: Record<string, unknown>) => ({ ...profile(), ...org }) as Profile;
  const ORG = { CustomUserOrgField: 'o', OrgMapping: { 'Acme Corp': 'org-acme' }, DefaultOrgID: 'org-default' };
  // Through the login pipeline, which decides the organisation in the explanation and hands it to the action.
  const run = async (p: Profile, raw: Record<string, unknown>) =>
    (await completeLogin(p, { ...input(p).identity, raw }, createDashboardSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() }), log)).result;

  it('the Tyk Dashboard receives the mapped OrgID; an absent or unmapped claim gets DefaultOrgID', async () => {
    expect((await run(withOrg(ORG), { o: 'Acme Corp' })).kind).toBe('redirect');
    expect((await run(withOrg(ORG), { o: 'Initech' })).kind).toBe('redirect');
    expect((await run(withOrg(ORG), {})).kind).toBe('redirect');
    expect(stub.requests.map((r) => [r.path, (r.body as { OrgID?: unknown }).OrgID])).toEqual([
      ['/api/sso', 'org-acme'],
      ['/api/sso', 'org-default'],
      ['/api/sso', 'org-default'],
    ]);
  });

  it('an absent claim without DefaultOrgID is refused before any call to Tyk', async () => {
    const r = await run(withOrg({ ...ORG, DefaultOrgID: '' }), {});
    expect(r).toEqual({ kind: 'failure', failure: { status: 400, message: 'Login failed', class: 'identity_incomplete', reason: 'CustomUserOrgField "o": no such claim, and the profile has no DefaultOrgID' } });
    expect(stub.requests).toHaveLength(0);
  });
});

describe('GenerateOrLoginDeveloperProfile (portal)', () => {
  it('creates the developer once, then updates it keeping fields it does not model', async () => {
    const p = profile({ ActionType: 'GenerateOrLoginDeveloperProfile', ReturnURL: 'http://portal.example.com/portal/sso/' });
    const action = createPortalSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() });
    const first = await action.run(input(p, { identity: { ...input(p).identity, userId: 'Ada Lovelace' } }));
    expect(first).toEqual({ kind: 'redirect', url: `http://portal.example.com/portal/sso/?nonce=${stub.issuedNonces.at(-1)}` });
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/sso',
      'GET /api/portal/developers/ssokey/Ada%20Lovelace%40ADProvider.com',
      'POST /api/portal/developers',
    ]);
    const created = stub.requests[2]!;
    expect(created.headers.authorization).toBe(CRED);
    expect(Object.keys(created.body as object)).toEqual(['id', 'email', 'date_created', 'inactive', 'org_id', 'keys', 'subscriptions', 'fields', 'nonce', 'sso_key', 'password_max_days', 'password_updated', 'PWHistory', 'last_login_date']);
    expect(created.body).toMatchObject({ email: 'ada@example.com', org_id: 'org-1', sso_key: 'Ada Lovelace@ADProvider.com', nonce: stub.issuedNonces.at(-1) });

    stub.reset();
    await action.run(input(p, { identity: { ...input(p).identity, userId: 'Ada Lovelace' } }));
    expect(stub.requests.map((r) => r.method + ' ' + r.path.replace(/[0-9a-f]{24}$/, '<id>'))).toEqual([
      'POST /api/sso',
      'GET /api/portal/developers/ssokey/Ada%20Lovelace%40ADProvider.com',
      'PUT /api/portal/developers/<id>',
    ]);
    expect(stub.requests[2]?.body).toMatchObject({ custom_field_set_by_portal: 'kept', nonce: stub.issuedNonces.at(-1), email: 'ada@example.com' });
    expect(stub.developers.size).toBe(1);
  });

  it('uses CustomUserIDField for the SSO key', async () => {
    const p = profile({ ActionType: 'GenerateOrLoginDeveloperProfile', CustomUserIDField: 'user_id' });
    await createPortalSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() }).run(input(p, { identity: { ...input(p).identity, raw: { user_id: '005xx' } } }));
    expect(stub.requests[1]?.path).toBe('/api/portal/developers/ssokey/005xx%40ADProvider.com');
  });

  it('a 401 or 500 from the portal is a failure', async () => {
    const p = profile({ ActionType: 'GenerateOrLoginDeveloperProfile' });
    const action = createPortalSso(p, { config, log, tyk, identityCache: new MemoryIdentityCache() });
    stub.failNext('/api/portal/developers/ssokey', 401);
    expect(await action.run(input(p))).toMatchObject({ kind: 'failure', failure: { status: 502, reason: 'GET /api/portal/developers/ssokey/<key> answered 401' } });
    stub.failNext('/api/portal/developers', 500);
    expect(await action.run(input(p))).toMatchObject({ kind: 'failure', failure: { status: 502 } });
  });
});
