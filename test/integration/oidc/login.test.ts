/**
 * OpenID Connect logins end to end (issue 4) against a real OpenID Provider (oidc-provider, in process) and
 * the recording Tyk stub: the authorization-code flow with PKCE, state and nonce for the dashboard and the
 * portal with mapped teams; every rejection (tampered signature, wrong nonce, replay, another browser's
 * state, expired flow, userinfo sub mismatch, unverified email, access_denied); key rotation without a
 * restart and a bounded JWKS refetch under random kids; discovery cached; the OP down; encrypted id_tokens.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-oidc-tests';
const ADMIN = 'dashboard-admin-secret-for-oidc-tests';
const CLIENT_SECRET = 'oidc-client-secret-never-logged';
const SESSION_SECRET = 'session-secret-for-oidc-tests-0123456789';
const MAPPING = { devs: 'team-devs', admins: 'team-admins', partners: 'team-partners' };
const PROFILES = ['dash', 'portal', 'redirecting', 'short', 'jwe', 'jwe-wrong-key', 'no-email-scope', 'fresh', 'flood', 'down', 'lenient', 'custom-email'];

let op: TestOp;
let stub: TykStub;
let broker: TestBroker;
let base: string;
let keyDir: string;
/** Every code, state, nonce and token seen on the wire, to check none reaches a log line. */
const wireSecrets: string[] = [];

const callbackOf = (id: string) => `${base}/auth/${id}/openid-connect/callback`;

function profile(id: string, over: Record<string, unknown> = {}, entry: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}) {
  return oidcProfile({
    id,
    name: `OIDC ${id}`,
    discoveryUrl: op.discoveryUrl,
    callbackBase: base,
    returnUrl: `${stub.url}/tap`,
    credential: CRED,
    key: 'broker',
    secret: CLIENT_SECRET,
    scopes: ['openid', 'email', 'profile', 'groups'],
    profile: { CustomUserGroupField: 'groups', UserGroupMapping: MAPPING, ...over },
    entry,
    providerConfig,
  });
}

/** A browser starting a login at the broker and signing in at the OP: returns the callback URL the OP sent it to. */
async function toCallback(id: string, user: string, jar = new CookieJar()): Promise<{ callback: string; authUrl: URL; jar: CookieJar; start: Response }> {
  const start = await fetchWithJar(`${base}/auth/${id}/openid-connect`, jar);
  expect(start.status).toBe(302);
  const authUrl = new URL(start.headers.get('location') ?? '');
  const callback = await loginAtOp(authUrl.toString(), jar, user, callbackOf(id));
  const cb = new URL(callback);
  wireSecrets.push(cb.searchParams.get('code') ?? '', authUrl.searchParams.get('state') ?? '', authUrl.searchParams.get('nonce') ?? '');
  return { callback, authUrl, jar, start };
}

async function login(id: string, user: string, jar = new CookieJar()) {
  const flow = await toCallback(id, user, jar);
  const res = await fetchWithJar(flow.callback, flow.jar);
  return { ...flow, res };
}

async function expectRejected(res: Response, reason: RegExp) {
  expect(res.status).toBe(400);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(await res.json()).toEqual({ Status: 'error', Error: expect.any(String) });
  expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(0);
  expect(broker.logs.some((l) => l.includes('login failed') && reason.test(l))).toBe(true);
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  keyDir = await fs.mkdtemp(path.join(os.tmpdir(), 'oidc-jwe-'));
  const keyFile = (name: string) => path.join(keyDir, name);
  const brokerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await fs.writeFile(keyFile('jwe.pem'), brokerKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await fs.writeFile(keyFile('other.pem'), otherKey.privateKey.export({ type: 'pkcs1', format: 'pem' }));
  const encryptTo = { ...(await jose.exportJWK(brokerKey.publicKey)), use: 'enc', alg: 'RSA-OAEP-256', kid: 'broker-enc' };

  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  op = await startTestOp({
    redirectUris: PROFILES.map(callbackOf),
    clients: [
      { client_id: 'broker', client_secret: CLIENT_SECRET },
      { client_id: 'broker-jwe', client_secret: CLIENT_SECRET, encryptTo },
    ],
  });
  const jwe = (file: string) => [{ Key: 'broker-jwe' }, { JWE: { Enabled: true, PrivateKeyLocation: keyFile(file) } }] as const;
  broker = await startTestBroker({
    port,
    config: { SessionSecret: SESSION_SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [
      profile('dash'),
      profile('portal', { ActionType: 'GenerateOrLoginDeveloperProfile', ReturnURL: `${stub.url}/portal/sso/` }),
      profile('redirecting', {}, {}, { FailureRedirect: `${stub.url}/login-failed` }),
      profile('short', {}, {}, { LoginTimeout: 1 }),
      profile('jwe', {}, ...jwe('jwe.pem')),
      profile('jwe-wrong-key', {}, ...jwe('other.pem')),
      profile('no-email-scope', {}, { Scopes: ['openid'] }),
      profile('fresh'),
      profile('flood'),
      profile('down', {}, {}, { FailureRedirect: `${stub.url}/login-failed` }),
      profile('lenient', {}, { AllowUnverifiedEmail: true }),
      profile('custom-email', { CustomEmailField: 'upn' }),
    ],
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await op?.close();
  await stub?.close();
  if (keyDir) await fs.rm(keyDir, { recursive: true, force: true });
});

beforeEach(() => stub.reset());

describe('the authorization-code flow', () => {
  it('signs a user into the dashboard with PKCE, state and nonce, in the mapped teams', async () => {
    const { res, authUrl, start } = await login('dash', 'alice');
    // What the broker asked of the OP.
    expect(authUrl.origin).toBe(op.issuer);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authUrl.searchParams.get('state')).toMatch(/^[\w-]{43,}$/);
    expect(authUrl.searchParams.get('nonce')).toMatch(/^[\w-]{43,}$/);
    expect(authUrl.searchParams.get('scope')).toBe('openid email profile groups');
    expect(authUrl.searchParams.get('redirect_uri')).toBe(callbackOf('dash'));
    // The flow cookie: HttpOnly, SameSite=Lax, short-lived, scoped to /auth/.
    const cookie = start.headers.getSetCookie().find((c) => c.startsWith('tib_flow_'));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\/auth\//);
    expect(cookie).toMatch(/Max-Age=300/); // LoginTimeout's default
    expect(cookie).not.toMatch(/Secure/); // plain-http CallbackBaseURL in this test

    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const nonce = stub.issuedNonces.at(-1);
    expect(res.headers.get('location')).toBe(`${stub.url}/tap?nonce=${nonce}`);
    const sso = stub.requests.filter((r) => r.path === '/api/sso');
    expect(sso).toHaveLength(1);
    expect(sso[0]?.headers.authorization).toBe(CRED);
    expect(sso[0]?.body).toEqual({
      ForSection: 'dashboard',
      OrgID: 'org-oidc',
      EmailAddress: 'alice@example.com',
      DisplayName: 'Alice Anders',
      GroupID: 'team-devs',
      GroupsIDs: ['team-devs', 'team-admins'],
      SSOOnlyForRegisteredUsers: false,
    });
  });

  it('signs a developer into the portal: created on the first login, updated on the next', async () => {
    const first = await login('portal', 'bob');
    expect(first.res.status).toBe(302);
    expect(first.res.headers.get('location')).toBe(`${stub.url}/portal/sso/?nonce=${stub.issuedNonces.at(-1)}`);
    const sso = stub.requests.find((r) => r.path === '/api/sso');
    // A space-separated group claim, split by the default separator, in IdP order.
    expect(sso?.body).toMatchObject({ ForSection: 'portal', EmailAddress: 'bob@example.com', GroupsIDs: ['team-partners', 'team-devs'] });
    expect(stub.requests.filter((r) => r.method === 'POST' && r.path === '/api/portal/developers')).toHaveLength(1);
    expect(stub.developers.get('bob@openid-connect.com')).toMatchObject({ email: 'bob@example.com', org_id: 'org-oidc' });

    stub.reset();
    const second = await login('portal', 'bob');
    expect(second.res.status).toBe(302);
    expect(stub.requests.filter((r) => r.method === 'POST' && r.path === '/api/portal/developers')).toHaveLength(0);
    const put = stub.requests.find((r) => r.method === 'PUT');
    expect(put?.body).toMatchObject({ sso_key: 'bob@openid-connect.com', nonce: stub.issuedNonces.at(-1), custom_field_set_by_portal: 'kept' });
  });

  it("accepts a client's own state at the start (TIB#389) but sends and verifies its own", async () => {
    const jar = new CookieJar();
    const start = await fetchWithJar(`${base}/auth/dash/openid-connect?state=client-chosen-state`, jar);
    const authUrl = new URL(start.headers.get('location') ?? '');
    expect(authUrl.searchParams.get('state')).not.toBe('client-chosen-state');
    const callback = await loginAtOp(authUrl.toString(), jar, 'alice', callbackOf('dash'));
    wireSecrets.push(new URL(callback).searchParams.get('code') ?? '', authUrl.searchParams.get('state') ?? '');
    expect((await fetchWithJar(callback, jar)).status).toBe(302);
  });

  it('decrypts an encrypted id_token and verifies the signature inside', async () => {
    const { res } = await login('jwe', 'alice');
    expect(res.status).toBe(302);
    expect(stub.requests.find((r) => r.path === '/api/sso')?.body).toMatchObject({ EmailAddress: 'alice@example.com' });
  });

  it('fetches discovery once for many logins', async () => {
    const before = op.discoveryRequests;
    for (let i = 0; i < 5; i++) expect((await login('fresh', i % 2 ? 'alice' : 'bob')).res.status).toBe(302);
    expect(op.discoveryRequests - before).toBe(1);
  });

  it('keeps working when the OP rotates its signing key, with one JWKS refetch and no restart', async () => {
    expect((await login('dash', 'alice')).res.status).toBe(302);
    const jwksBefore = op.jwksRequests;
    await op.rotateKeys();
    expect((await login('dash', 'alice')).res.status).toBe(302);
    expect((await login('dash', 'bob')).res.status).toBe(302);
    expect(op.jwksRequests - jwksBefore).toBe(1);
  });
});

describe('email verification', () => {
  it('a string "TRUE" counts as verified', async () => {
    expect((await login('dash', 'carol')).res.status).toBe(302);
    expect(stub.requests.find((r) => r.path === '/api/sso')?.body).toMatchObject({ EmailAddress: 'carol@example.com' });
  });

  it('an email only in userinfo, verified there', async () => {
    expect((await login('dash', 'uma')).res.status).toBe(302);
    expect(stub.requests.find((r) => r.path === '/api/sso')?.body).toMatchObject({ EmailAddress: 'uma@example.com' });
  });

  it('AllowUnverifiedEmail on the UseProviders entry lets an unverified address in', async () => {
    expect((await login('lenient', 'trudy')).res.status).toBe(302);
    expect(stub.requests.find((r) => r.path === '/api/sso')?.body).toMatchObject({ EmailAddress: 'alice@example.com' });
  });
});

describe('the login cookie', () => {
  it('a malformed flow cookie (and TIB\'s own _gothic_session) is ignored at the start: a new flow cookie is set', async () => {
    const start = await fetch(`${base}/auth/dash/openid-connect`, { headers: { cookie: 'tib_flow_AAAAAAAAAAAAAAAA=%E0%A4%A; _gothic_session=MTY4-tib-gorilla-cookie' }, redirect: 'manual' });
    expect(start.status).toBe(302);
    expect(start.headers.getSetCookie().find((c) => c.startsWith('tib_flow_'))).toMatch(/^tib_flow_[\w-]{16}=[\w-]{100,};/);
  });

  it("beside TIB's own _gothic_session and damaged copies of the flow cookie (another Path), the valid one is found", async () => {
    const flow = await toCallback('dash', 'alice');
    const name = (flow.start.headers.getSetCookie()[0] ?? '').split('=')[0] ?? '';
    const ours = flow.jar.get(base, name) ?? '';
    const res = await fetch(flow.callback, { headers: { cookie: `${name}=%E0%A4%A; _gothic_session=MTY4-tib-gorilla-cookie; ${name}=${ours.slice(0, -2)}; ${name}=${ours}` }, redirect: 'manual' });
    expect(res.status).toBe(302);
  });
});

describe('rejected logins', () => {
  it('a tampered id_token signature', async () => {
    const flow = await toCallback('dash', 'alice');
    op.tamper = { idTokenSignature: true };
    await expectRejected(await fetchWithJar(flow.callback, flow.jar), /signature/);
  });

  it('an id_token with another nonce, validly signed', async () => {
    const flow = await toCallback('dash', 'alice');
    op.tamper = { nonce: 'not-the-nonce-we-sent' };
    await expectRejected(await fetchWithJar(flow.callback, flow.jar), /nonce/);
  });

  it('a replayed callback', async () => {
    const { res, callback, jar } = await login('dash', 'alice');
    expect(res.status).toBe(302);
    stub.reset();
    await expectRejected(await fetchWithJar(callback, jar), /unknown, expired or already used state/);
  });

  it("a state from another browser, with no flow cookie or with that browser's own", async () => {
    const victim = await toCallback('dash', 'alice');
    await expectRejected(await fetchWithJar(victim.callback, new CookieJar()), /another browser/);

    const attacker = await toCallback('dash', 'bob');
    const other = new CookieJar();
    await fetchWithJar(`${base}/auth/dash/openid-connect`, other); // a login cookie of its own
    await expectRejected(await fetchWithJar(attacker.callback, other), /another browser/);
  });

  it('an expired flow', async () => {
    const flow = await toCallback('short', 'alice');
    await new Promise((r) => setTimeout(r, 1100)); // LoginTimeout is 1 s for this profile
    await expectRejected(await fetchWithJar(flow.callback, flow.jar), /unknown, expired or already used state/);
  });

  it('a userinfo answer for another subject', async () => {
    const flow = await toCallback('dash', 'alice');
    op.tamper = { userinfoSub: 'someone-else' };
    await expectRejected(await fetchWithJar(flow.callback, flow.jar), /userinfo/);
  });

  it('an email address the IdP has not verified', async () => {
    const { res } = await login('dash', 'mallory');
    await expectRejected(res, /not verified/);
  });

  it('an email_verified of "false" as a string, as some IdPs send it', async () => {
    const { res } = await login('dash', 'trudy');
    await expectRejected(res, /not verified \(email_verified: \\?"false\\?" in the/);
  });

  it("a userinfo address other than the id_token's verified one, without a flag of its own", async () => {
    const { res } = await login('dash', 'eve');
    await expectRejected(res, /not verified \(userinfo gives another address/);
  });

  it('a CustomEmailField claim the IdP does not send, for a user without an email: refused naming the claim, not the shared fallback address', async () => {
    const { res } = await login('custom-email', 'noemail');
    await expectRejected(res, /CustomEmailField \\?"upn\\?": the identity provider sent no such claim/);
  });

  it('a malformed flow cookie at the callback: the usual "another browser" refusal, not a 500', async () => {
    const flow = await toCallback('dash', 'alice');
    const name = (flow.start.headers.getSetCookie()[0] ?? '').split('=')[0] ?? '';
    await expectRejected(await fetch(flow.callback, { headers: { cookie: `${name}=%E0%A4%A` }, redirect: 'manual' }), /another browser/);
  });

  it('the user cancelling at the IdP (access_denied), and a callback without state', async () => {
    const { authUrl, jar } = await toCallback('dash', 'alice');
    const state = authUrl.searchParams.get('state') ?? '';
    await expectRejected(await fetchWithJar(`${callbackOf('dash')}?error=access_denied&state=${state}`, jar), /error=access_denied/);
    await expectRejected(await fetchWithJar(`${callbackOf('dash')}?code=abc`, jar), /without a state/);
  });

  it('sends the browser to FailureRedirect when the profile has one', async () => {
    const { authUrl, jar } = await toCallback('redirecting', 'alice');
    const res = await fetchWithJar(`${callbackOf('redirecting')}?error=access_denied&state=${authUrl.searchParams.get('state') ?? ''}`, jar);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${stub.url}/login-failed`);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('an IdP that returns no email: the message names the fix', async () => {
    const { res } = await login('no-email-scope', 'alice');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { Error: string }).Error).toMatch(/ask for the "email" scope .* or map a claim with CustomEmailField/);
  });

  it('an encrypted id_token the profile cannot decrypt', async () => {
    const { res } = await login('jwe-wrong-key', 'alice');
    await expectRejected(res, /JWE|decrypt/i);
  });

  it('tokens signed under random kids: rejected, and the IdP sees at most a few JWKS refetches', async () => {
    expect((await login('flood', 'alice')).res.status).toBe(302); // keys cached
    stub.reset();
    const before = op.jwksRequests;
    for (let i = 0; i < 10; i++) {
      const flow = await toCallback('flood', 'alice');
      op.tamper = { unknownKid: true };
      await expectRejected(await fetchWithJar(flow.callback, flow.jar), /no key of the IdP matches/);
    }
    // A burst of 3; one more token is earned every 30 s, which a slow run might reach.
    expect(op.jwksRequests - before).toBeLessThanOrEqual(4);
  });
});

describe('the OP down', () => {
  it('at callback time: the failure response, not a hang', async () => {
    const flow = await toCallback('down', 'alice');
    await op.stop();
    try {
      const res = await fetchWithJar(flow.callback, flow.jar);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`${stub.url}/login-failed`);
      expect(broker.logs.some((l) => l.includes('login failed') && l.includes('token exchange'))).toBe(true);
    } finally {
      await op.restart();
    }
    // And logins work again once it is back.
    expect((await login('down', 'alice')).res.status).toBe(302);
  });
});

describe('logs', () => {
  it('never carry the client secret, the session secret, codes, states, nonces or tokens', () => {
    const secrets = [CLIENT_SECRET, SESSION_SECRET, CRED, ...stub.issuedNonces, ...wireSecrets].filter((s) => s.length >= 8);
    expect(secrets.length).toBeGreaterThan(20);
    const leaks = broker.logs.filter((line) => secrets.some((s) => line.includes(s)));
    expect(leaks).toEqual([]);
  });
});
