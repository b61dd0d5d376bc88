/**
 * `Sync.Source: "okta"` (issue 20, item 2; src/sync/okta/): the broker's runner, through `POST /api/sync/{profile}`,
 * against the Okta stand-in (test/support/okta-stub.ts: its API validated against Okta's published Management API,
 * its token issued by a real oidc-provider to a `private_key_jwt` client holding the test's public keys) and the
 * portal stand-in (test/support/portal-stub.ts). The tests run in order and share the org and the portal.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import request from 'supertest';
import { runToolCommand } from '../../../src/cli/cli.js';
import type { CliIo } from '../../../src/cli/io.js';
import type { SyncReport } from '../../../src/sync/engine.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp } from '../../support/oidc-op.js';
import { startOktaStub, type OktaStub, type OktaStubGroup, type OktaStubUser } from '../../support/okta-stub.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';
import { freePort } from '../../support/slapd.js';

const SECRET = 'okta-sync-admin-secret';
const PORTAL_SECRET = 'okta-sync-portal-sso-secret';
const TOKEN = 'okta-sync-portal-admin-token';
const CLIENT_ID = '0oa1okta2sync3client';
let okta: OktaStub;
/** A second org whose app requires DPoP (RFC 9449). */
let dpopOrg: OktaStub;
let portal: PortalStub;
let broker: TestBroker;
let dir = '';
/** The broker's base URL (its login's CallbackBaseURL). */
let base = '';
const LOGIN_CLIENT = { client_id: 'portal-login', client_secret: 'portal-login-client-secret' };
let rsaPem = '';
let wrongPem = '';
let ecJwk: jose.JWK = {};
const people: Record<string, OktaStubUser> = {};
const groups: Record<string, OktaStubGroup> = {};

const profile = (id: string, oktaKeys: Record<string, unknown>, org = okta) => ({
  ID: id,
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'SocialProvider',
  OrgID: '0',
  ReturnURL: `${portal.url}/sso`,
  IdentityHandlerConfig: { DashboardCredential: PORTAL_SECRET },
  // The login the sync stands for: OpenID Connect against the same org, groups from Okta's groups claim.
  ProviderConfig: {
    CallbackBaseURL: base,
    UseProviders: [{ Name: 'openid-connect', Key: LOGIN_CLIENT.client_id, Secret: LOGIN_CLIENT.client_secret, DiscoverURL: `${org.url}/.well-known/openid-configuration`, Scopes: ['openid', 'email', 'profile', 'groups'] }],
  },
  CustomUserGroupField: 'groups',
  UserGroupMapping: { Developers: 'Acme/Developers', Testers: 'Acme/Testers' },
  Membership: { Authority: 'idp', Teams: 'all' },
  Sync: { Source: 'okta', IntervalSeconds: 0, Deprovision: 'deactivate', MaxDeprovisionPercent: 100, Okta: { OrgURL: org.url, ClientID: CLIENT_ID, KeyID: 'rsa-1', ...oktaKeys } },
});

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'okta-sync-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const rsa = await jose.generateKeyPair('RS256', { extractable: true });
  const ec = await jose.generateKeyPair('ES256', { extractable: true });
  const wrong = await jose.generateKeyPair('RS256', { extractable: true });
  rsaPem = await jose.exportPKCS8(rsa.privateKey);
  wrongPem = await jose.exportPKCS8(wrong.privateKey);
  await fs.writeFile(path.join(dir, 'rsa.pem'), rsaPem, { mode: 0o600 });
  ecJwk = { ...(await jose.exportJWK(ec.privateKey)), kid: 'ec-1' };
  await fs.writeFile(path.join(dir, 'ec.jwk'), JSON.stringify(ecJwk), { mode: 0o600 });
  // Readable by others: a WARN when the source is built.
  await fs.writeFile(path.join(dir, 'wrong.pem'), wrongPem, { mode: 0o644 });
  await fs.chmod(path.join(dir, 'wrong.pem'), 0o644);
  const clientKeys = [
    { ...(await jose.exportJWK(rsa.publicKey)), kid: 'rsa-1', use: 'sig' },
    { ...(await jose.exportJWK(ec.publicKey)), kid: 'ec-1', use: 'sig' },
  ];
  [okta, dpopOrg, portal] = await Promise.all([
    startOktaStub({ clientId: CLIENT_ID, clientKeys, loginClient: { ...LOGIN_CLIENT, redirect_uris: [`${base}/auth/okta/openid-connect/callback`] } }),
    startOktaStub({ clientId: CLIENT_ID, clientKeys, requireDpop: true }),
    startPortalStub({ portalApiSecret: PORTAL_SECRET, adminToken: TOKEN }),
  ]);
  const dpopDevs = dpopOrg.addGroup('Developers');
  dpopOrg.addMember(dpopDevs.id, dpopOrg.addUser({ email: 'dee@example.org', firstName: 'Dee', lastName: 'Pop' }).id);
  const acme = portal.addOrganisation('Acme');
  portal.addTeam(acme.ID, 'Developers');
  portal.addTeam(acme.ID, 'Testers');
  portal.addUser({ Email: 'admin@example.org', Role: 'admin' });

  groups.dev = okta.addGroup('Developers');
  groups.test = okta.addGroup('Testers');
  groups.sales = okta.addGroup('Sales');
  for (const [key, email, group] of [
    ['ada', 'ada@example.org', 'dev'],
    ['bo', 'bo@example.org', 'dev'],
    ['cy', 'cy@example.org', 'test'],
    ['di', 'di@example.org', 'sales'],
    ['ed', 'ed@example.org', 'dev'],
  ] as const) {
    people[key] = okta.addUser({ email, firstName: key.toUpperCase(), lastName: 'Okta' });
    okta.addMember(groups[group]!.id, people[key]!.id);
  }
  // Never activated, and suspended: Okta does not let them sign in, so they are out of scope.
  people.staged = okta.addUser({ email: 'staged@example.org', firstName: 'St', lastName: 'Aged', status: 'STAGED' });
  people.suspended = okta.addUser({ email: 'sus@example.org', firstName: 'Sus', lastName: 'Pended', status: 'SUSPENDED' });
  okta.addMember(groups.dev.id, people.staged.id);
  okta.addMember(groups.dev.id, people.suspended.id);

  broker = await startTestBroker({
    port,
    config: {
      Secret: SECRET,
      SessionSecret: 'okta-sync-session-secret-of-32-characters-or-more',
      TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } },
    },
    profiles: [
      profile('okta', { PrivateKeyFile: path.join(dir, 'rsa.pem') }),
      // An EC key as a private JWK (its kid from the JWK), and only members of groups named "Dev...".
      profile('okta-filter', { PrivateKeyFile: path.join(dir, 'ec.jwk'), KeyID: '', GroupFilter: 'profile.name sw "Dev"' }),
      profile('okta-wrong-key', { PrivateKeyFile: path.join(dir, 'wrong.pem') }),
      profile('okta-wrong-kid', { PrivateKeyFile: path.join(dir, 'rsa.pem'), KeyID: 'not-registered' }),
      profile('okta-dpop', { PrivateKeyFile: path.join(dir, 'rsa.pem') }, dpopOrg),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await okta?.close();
  await dpopOrg?.close();
  await portal?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  okta.pageSize = 200;
  okta.linkStyle = 'one';
  okta.foreignNext = false;
  okta.setFault('none');
  okta.setRateLimit(600, 60);
  const violations = [...okta.violations.splice(0), ...dpopOrg.violations.splice(0), ...portal.violations.splice(0)];
  expect(violations).toEqual([]);
});

const sync = (id: string, query = '') => request(broker.url).post(`/api/sync/${id}${query}`).set('Authorization', SECRET);
const shape = (r: SyncReport) => r.changes.map((c) => `${c.kind} ${c.email ?? ''}${c.error ? ` FAILED ${c.error}` : ''}`).sort();
const accountOf = (email: string) => [...portal.users.values()].find((u) => u.Email === email);
const teamsOf = (email: string) => accountOf(email)?.Teams.map((t) => portal.teams.get(t)?.Name).sort();
const pagedCalls = () => okta.calls.filter((c) => c.path.includes('after='));

describe('Sync.Source "okta"', () => {
  it('GroupFilter: only members of a matching group are listed (an EC key as a JWK signs the assertion)', async () => {
    const res = await sync('okta-filter', '?dryRun=true');
    expect(res.status).toBe(200);
    const r = res.body.Data as SyncReport;
    // cy (Testers) and di (Sales) are in no group named "Dev...": left out; staged and suspended cannot sign in.
    expect(r.listed).toBe(3);
    expect(shape(r)).toEqual(['create ada@example.org', 'create bo@example.org', 'create ed@example.org']);
    expect(okta.calls.some((c) => c.path.startsWith('/api/v1/groups?') && c.path.includes('search='))).toBe(true);
  });

  it('a first run creates the people who can sign in, with their teams, reading every page (one Link header)', async () => {
    okta.pageSize = 2;
    okta.linkStyle = 'one';
    okta.calls.length = 0;
    const res = await sync('okta');
    expect(res.status).toBe(200);
    const r = res.body.Data as SyncReport;
    expect(shape(r)).toEqual(['create ada@example.org', 'create bo@example.org', 'create cy@example.org', 'create ed@example.org']);
    // di's only group (Sales) maps to no team: out of scope, as at login; staged and suspended are not listed.
    expect(r.listed).toBe(5);
    expect(r.outOfScope).toBe(1);
    expect(teamsOf('ada@example.org')).toEqual(['Developers']);
    expect(teamsOf('cy@example.org')).toEqual(['Testers']);
    expect(accountOf('staged@example.org')).toBeUndefined();
    expect(accountOf('sus@example.org')).toBeUndefined();
    // 7 users at 2 a page: 4 pages, 3 of them by the next link's `after` cursor; Developers' 5 members likewise.
    expect(okta.calls.filter((c) => c.path.startsWith('/api/v1/users?')).length).toBe(4);
    expect(pagedCalls().length).toBeGreaterThanOrEqual(3 + 2);
    const res2 = await request(broker.url).get('/api/sync/okta').set('Authorization', SECRET);
    expect(res2.body.Data.last).toMatchObject({ outcome: 'ok', counts: { create: 4 } });
  });

  it('a person the sync created signs in through Okta into that very account and its teams (the same SSO key)', async () => {
    const before = portal.users.size;
    const account = accountOf('ada@example.org')!;
    portal.adminCalls.length = 0;
    const jar = new CookieJar();
    const start = await fetchWithJar(`${base}/auth/okta/openid-connect`, jar);
    expect(start.status).toBe(302);
    const callback = await loginAtOp(start.headers.get('location') ?? '', jar, people.ada!.id, `${base}/auth/okta/openid-connect/callback`);
    const done = await fetchWithJar(callback, jar);
    expect(done.status).toBe(302);
    const landing = await fetchWithJar(done.headers.get('location') ?? '', jar);
    expect(landing.status).toBe(200);
    expect(portal.landings.at(-1)).toMatchObject({ outcome: 'signed-in', userId: account.ID });
    expect(portal.users.size).toBe(before);
    // The login found the account by the link the sync kept under the login's SSO key (`<Okta user id>@openid-
    // connect.com`): it read that account, and never listed the users to look for the email.
    expect(portal.adminCalls.filter((c) => c.path.startsWith('/portal-api/users'))).toEqual([{ method: 'GET', path: `/portal-api/users/${account.ID}` }]);
    expect(accountOf('ada@example.org')?.SsoKeys).toEqual([`${people.ada!.id}@openid-connect.com`]);
    expect(teamsOf('ada@example.org')).toEqual(['Developers']);
  });

  it('a move between Okta groups changes teams at the next run (several Link headers)', async () => {
    okta.pageSize = 2;
    okta.linkStyle = 'several';
    okta.calls.length = 0;
    okta.removeMember(groups.dev!.id, people.bo!.id);
    okta.addMember(groups.test!.id, people.bo!.id);
    const r = (await sync('okta')).body.Data as SyncReport;
    expect(shape(r)).toEqual(['update bo@example.org']);
    expect(teamsOf('bo@example.org')).toEqual(['Testers']);
    expect(pagedCalls().length).toBeGreaterThanOrEqual(3);
  });

  it('a user deactivated in Okta is deactivated in the portal', async () => {
    people.ed!.status = 'DEPROVISIONED';
    const r = (await sync('okta')).body.Data as SyncReport;
    expect(shape(r)).toEqual(['deactivate ed@example.org']);
    expect(accountOf('ed@example.org')?.Active).toBe(false);
    expect(accountOf('admin@example.org')?.Active).toBe(true);
  });

  it('a 429 is waited out until X-Rate-Limit-Reset, and a 500 retried: the run succeeds', async () => {
    okta.calls.length = 0;
    okta.throttle(1, 1);
    const started = Date.now();
    const r1 = await sync('okta');
    expect(r1.status).toBe(200);
    expect(shape(r1.body.Data as SyncReport)).toEqual([]);
    expect(okta.calls[0]).toMatchObject({ status: 429 });
    expect(okta.calls[1]).toMatchObject({ path: okta.calls[0]!.path, status: 200 });
    // Waited for the reset (at least the second it named, less the part of it already gone).
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    okta.calls.length = 0;
    okta.setFault({ status: 500, times: 1 });
    const r2 = await sync('okta');
    expect(r2.status).toBe(200);
    expect(okta.calls.map((c) => c.status).slice(0, 2)).toEqual([500, 200]);
  });

  it('a 429 from the token endpoint is waited out too', async () => {
    // The same key written anew: the source builds a new client, which asks for a new token.
    await fs.writeFile(path.join(dir, 'ec.jwk'), JSON.stringify(ecJwk, null, 2), { mode: 0o600 });
    const before = okta.tokenRequests.length;
    okta.throttleToken(1);
    const res = await sync('okta-filter', '?dryRun=true');
    expect(res.status).toBe(200);
    expect(okta.tokenRequests.slice(before)).toEqual([{ status: 429 }, { status: 200 }]);
  });

  it('a low X-Rate-Limit-Remaining makes the next call wait for the reset: more calls than the window allows, none refused', async () => {
    okta.calls.length = 0;
    okta.setRateLimit(4, 2);
    const res = await sync('okta');
    expect(res.status).toBe(200);
    expect(okta.calls.length).toBeGreaterThan(4);
    expect(okta.calls.map((c) => c.status).filter((s) => s !== 200)).toEqual([]);
  });

  it('a wrong key fails the run with Okta\'s token error, and no key, assertion or token in the logs', async () => {
    const tokens = okta.tokenRequests.length;
    const res = await sync('okta-wrong-key');
    expect(res.status).toBe(502);
    expect(res.body.Error).toMatch(/^the okta source cannot list its people: Okta's token endpoint refused the client credentials: invalid_client/);
    expect(okta.tokenRequests.slice(tokens)).toEqual([{ status: 401 }]);
    const got = await request(broker.url).get('/api/sync/okta-wrong-key').set('Authorization', SECRET);
    expect(got.body.Data.last).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('invalid_client') });
    const logs = broker.logs.join('\n');
    expect(logs).toContain('invalid_client');
    expect(logs).toMatch(/WARN.*profile "okta-wrong-key": Sync\.Okta\.PrivateKeyFile \S+wrong\.pem holds the Okta app's private key and is readable by others \(mode 644\); chmod 600 it/);
    expect(logs).not.toMatch(/readable by others.*rsa\.pem/);
    for (const pem of [rsaPem, wrongPem]) {
      const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
      for (const line of body) expect(logs).not.toContain(line);
    }
    // The right key under a kid the app does not have is refused as well.
    const kid = await sync('okta-wrong-kid');
    expect(kid.status).toBe(502);
    expect(kid.body.Error).toContain("Okta's token endpoint refused the client credentials: invalid_client");
    // No JWT (an assertion) and no bearer token.
    expect(logs).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
    expect(logs).not.toMatch(/Bearer \S/);
  });

  it('a next link to another origin is refused: the token stays with the org', async () => {
    okta.pageSize = 2;
    okta.foreignNext = true;
    okta.calls.length = 0;
    const res = await sync('okta');
    expect(res.status).toBe(502);
    expect(res.body.Error).toContain(`GET /api/v1/users: Okta's next page link points to http://127.0.0.2:${new URL(okta.url).port}, not the org (${okta.url}); refused`);
    expect(okta.calls.length).toBe(1);
    // Nothing was deprovisioned by a run that could not read the org.
    expect(accountOf('ada@example.org')?.Active).toBe(true);
  });

  it('an app that requires DPoP: the token is asked again with a proof and the nonce, and each call carries a proof', async () => {
    const res = await sync('okta-dpop');
    expect(res.status).toBe(200);
    expect(shape(res.body.Data as SyncReport)).toEqual(['create dee@example.org']);
    // Okta's invalid_dpop_proof to the request without a proof, then use_dpop_nonce, then the DPoP-bound token.
    expect(dpopOrg.tokenRequests).toEqual([{ status: 400 }, { status: 400 }, { status: 200 }]);
    // The stand-in takes a DPoP-bound token only with a valid proof of its key for each call.
    expect(dpopOrg.calls.length).toBeGreaterThanOrEqual(3);
    expect(dpopOrg.calls.every((c) => c.status === 200)).toBe(true);
    expect(teamsOf('dee@example.org')).toEqual(['Developers']);
  });

  it('identity-broker sync <profile> with Source "okta": the same listing from the command line (dry run)', async () => {
    const conf = path.join(dir, 'tib.conf');
    await fs.writeFile(conf, JSON.stringify({ TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } } }));
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env: {} };
    okta.calls.length = 0;
    const code = await runToolCommand(['sync', 'okta', '-c', conf, '-p', broker.profilesPath, '--dry-run', '--json'], io);
    expect({ code, err: err.join('\n') }).toEqual({ code: 0, err: expect.not.stringContaining('error') });
    const report = JSON.parse(out.join('\n')) as SyncReport;
    // ada, bo, cy and di (ed was deactivated in Okta); di's Sales maps to no team. Nothing to change.
    expect(report).toMatchObject({ dryRun: true, listed: 4, outOfScope: 1, changes: [] });
    expect(okta.calls.every((c) => c.status === 200)).toBe(true);
  });
});
