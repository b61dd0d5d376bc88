/**
 * The Passport adapter (issue 10, item 1): strategies from npm (passport-http's BasicStrategy and
 * passport-oauth2) registered by an embedder through `createBroker({ providers })`, run through real logins
 * at the in-process broker into the recording Tyk stub. Each of Passport's actions ends where it should:
 * success -> the mapped identity and teams at /api/sso; fail -> the failure response (or FailureRedirect);
 * error -> a logged 500 that never echoes the error; redirect -> a no-store 302; a strategy that never
 * answers -> a failure after the timeout (and its late answer is ignored). Custom ProviderNames are accepted
 * only when registered, and TIB's four cannot be replaced.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { BasicStrategy } from 'passport-http';
import { Strategy as OAuth2Strategy } from 'passport-oauth2';
import request from 'supertest';
import { createBroker, passportProvider, PassportStrategy, StartupError, type Identity, type ProviderModule } from '../../../src/broker.js';
import { defaultConfig } from '../../../src/config/load.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-passport-tests';
const ADMIN = 'dashboard-admin-secret-for-passport-tests';
const ERROR_DETAIL = 'user directory unreachable at 10.1.2.3';

interface AppUser {
  id: string;
  email: string;
  name: string;
  groups: string[];
  disabled?: boolean;
  accessToken?: string;
}

const USERS: Record<string, { password: string; user: AppUser }> = {
  alice: { password: 'alice-pass', user: { id: 'alice', email: 'alice@example.org', name: 'Alice Admin', groups: ['admins', 'developers'] } },
  bob: { password: 'bob-pass', user: { id: 'bob', email: 'bob@example.org', name: 'Bob Builder', groups: ['developers'] } },
  dora: { password: 'dora-pass', user: { id: 'dora', email: 'dora@example.org', name: 'Dora Disabled', groups: [], disabled: true } },
};

/** Late answers of the "slow" user, so a test can wait for them. */
const lateAnswers: Array<Promise<void>> = [];

/** The embedder's mapping: its user record -> the broker's Identity, or a reason to refuse. */
function mapUser(provider: string) {
  return (user: unknown): Identity | string => {
    const u = user as AppUser;
    if (u.disabled) return `user ${u.id} is disabled`;
    const [firstName = '', lastName = ''] = u.name.split(' ');
    return { userId: u.id, email: u.email, displayName: u.name, firstName, lastName, raw: { ...u }, provider, accessToken: u.accessToken };
  };
}

/** passport-http's BasicStrategy over the table above; "boom" errors, "hang" never answers, "slow" answers late. */
const basicProvider: ProviderModule = {
  name: 'BasicAuth',
  create: ({ profile }, services) =>
  passportProvider(
    new BasicStrategy((username, password, done) => {
      if (username === 'boom') return done(new Error(ERROR_DETAIL));
      if (username === 'hang') return;
      if (username === 'slow') {
        lateAnswers.push(new Promise((resolve) => setTimeout(() => resolve(done(null, USERS.alice?.user)), 600)));
        return;
      }
      const entry = USERS[username];
      // Answer asynchronously, as a real user store would: concurrent logins overlap.
      setTimeout(() => done(null, entry && entry.password === password ? entry.user : false), 20);
    }),
    { mapUser: mapUser('BasicAuth'), log: services.log, timeoutMs: Number(profile.ProviderConfig?.TimeoutMs ?? 5000) },
  ),
};

let tokenServer: http.Server;
let tokenUrl: string;
const tokenRequests: Array<Record<string, string>> = [];

/** passport-oauth2 against a local token endpoint; the user comes from the access token. */
const oauthProvider: ProviderModule = {
  name: 'OAuth2',
  create: ({ profile }, services) =>
  passportProvider(
    new OAuth2Strategy(
      {
        authorizationURL: 'https://idp.example.com/oauth/authorize',
        tokenURL: tokenUrl,
        clientID: 'passport-client',
        clientSecret: 'passport-client-secret',
        callbackURL: `https://broker.example.com/auth/${profile.ID}/oauth2/callback`,
        scope: ['profile'],
      },
      (accessToken: string, _refreshToken: string, _profile: unknown, done: (err: unknown, user?: AppUser) => void) => {
        done(null, { id: 'carol', email: 'carol@example.org', name: 'Carol Coder', groups: ['developers'], accessToken });
      },
    ),
    { mapUser: mapUser('oauth2'), log: services.log },
  ),
};

/** Strategies written against passport's base class that misbehave: pass() with no session, a throw, a rejection. */
class OddStrategy extends PassportStrategy {
  constructor(private readonly how: string) {
    super();
  }
  override authenticate(): void | Promise<void> {
    if (this.how === 'pass') return this.pass();
    if (this.how === 'throw') throw new Error('strategy bug');
    return Promise.reject(new Error('async strategy bug'));
  }
}
const oddProvider: ProviderModule = {
  name: 'Odd',
  create: ({ profile }, services) => passportProvider(new OddStrategy(String(profile.ProviderConfig?.How)), { mapUser: mapUser('odd'), log: services.log }),
};

let stub: TykStub;
let broker: TestBroker;

function profile(id: string, providerName: string, providerConfig: Record<string, unknown> = {}) {
  return {
    ID: id,
    Name: `Passport ${id}`,
    OrgID: 'org-1',
    ActionType: 'GenerateOrLoginUserProfile',
    ProviderName: providerName,
    ReturnURL: `${stub.url}/tap`,
    IdentityHandlerConfig: { DashboardCredential: CRED },
    CustomUserGroupField: 'groups',
    UserGroupMapping: { admins: 'tyk-admins', developers: 'tyk-developers' },
    ProviderConfig: providerConfig,
  };
}

beforeAll(async () => {
  const tokens = express();
  tokens.post('/token', express.urlencoded({ extended: false }), (req, res) => {
    tokenRequests.push(req.body as Record<string, string>);
    if ((req.body as Record<string, string>).code !== 'good-code') return res.status(400).json({ error: 'invalid_grant' });
    res.json({ access_token: 'idp-access-token-1', token_type: 'Bearer', expires_in: 60 });
  });
  tokenServer = await new Promise<http.Server>((resolve) => {
    const s = tokens.listen(0, '127.0.0.1', () => resolve(s));
  });
  tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  broker = await startTestBroker({
    config: { TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, Timeout: 1 } },
    providers: [basicProvider, oauthProvider, oddProvider],
    profiles: [
      profile('basic', 'BasicAuth'),
      profile('basic-quick', 'BasicAuth', { TimeoutMs: 300 }),
      profile('basic-redirecting', 'BasicAuth', { FailureRedirect: `${stub.url}/login-failed` }),
      profile('oauth', 'OAuth2'),
      profile('odd-pass', 'Odd', { How: 'pass' }),
      profile('odd-throw', 'Odd', { How: 'throw' }),
      profile('odd-reject', 'Odd', { How: 'reject' }),
    ],
  });
});

afterAll(async () => {
  await Promise.all(lateAnswers);
  await broker?.close();
  await stub?.close();
  await new Promise<void>((resolve) => tokenServer?.close(() => resolve()));
});

beforeEach(() => stub.reset());

const ssoCalls = () => stub.requests.filter((r) => r.path === '/api/sso');
const basicLogin = (id: string, username: string, password: string) => request(broker.url).get(`/auth/${id}/basic`).auth(username, password);

function expectLoginFailed(res: request.Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).toEqual({ Status: 'error', Error: 'Login failed' });
  expect(ssoCalls()).toHaveLength(0);
}

describe('a Passport strategy registered with createBroker({ providers })', () => {
  it('success: the mapped identity and its teams reach /api/sso, and the browser lands at ReturnURL', async () => {
    const res = await basicLogin('basic', 'alice', 'alice-pass');
    expect(res.status).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.location).toBe(`${stub.url}/tap?nonce=${stub.issuedNonces.at(-1)}`);
    const [sso] = ssoCalls();
    expect(sso?.headers.authorization).toBe(CRED);
    expect(sso?.body).toEqual({
      ForSection: 'dashboard',
      OrgID: 'org-1',
      EmailAddress: 'alice@example.org',
      DisplayName: 'Alice Admin',
      GroupID: 'tyk-admins',
      GroupsIDs: ['tyk-admins', 'tyk-developers'],
      SSOOnlyForRegisteredUsers: false,
    });
  });

  it('concurrent logins each get their own user (the strategy is copied per request, as passport does)', async () => {
    const [a, b] = await Promise.all([basicLogin('basic', 'alice', 'alice-pass'), basicLogin('basic', 'bob', 'bob-pass')]);
    expect([a.status, b.status]).toEqual([302, 302]);
    expect(ssoCalls().map((c) => (c.body as { EmailAddress: string }).EmailAddress).sort()).toEqual(['alice@example.org', 'bob@example.org']);
  });

  it('fail: a wrong password and a missing Authorization header end in 401 "Login failed"', async () => {
    expectLoginFailed(await basicLogin('basic', 'alice', 'wrong'), 401);
    expectLoginFailed(await basicLogin('basic', 'nobody', 'alice-pass'), 401);
    expectLoginFailed(await request(broker.url).get('/auth/basic/basic'), 401);
    expect(broker.logs.some((l) => l.includes('login failed') && l.includes('refused the login (401): \\"Basic realm='))).toBe(true);
  });

  it("fail: the strategy's own status is kept (a malformed Basic header is a 400)", async () => {
    expectLoginFailed(await request(broker.url).get('/auth/basic/basic').set('Authorization', 'Basic'), 400);
  });

  it('fail with a FailureRedirect in ProviderConfig: a 302 there', async () => {
    const res = await basicLogin('basic-redirecting', 'alice', 'wrong');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${stub.url}/login-failed`);
    expect(ssoCalls()).toHaveLength(0);
  });

  it("a user the embedder's mapping refuses: 401, the reason logged", async () => {
    expectLoginFailed(await basicLogin('basic', 'dora', 'dora-pass'), 401);
    expect(broker.logs.some((l) => l.includes('user dora is disabled'))).toBe(true);
  });

  it('error: a 500 "Login failed"; the error is logged, never sent to the client', async () => {
    const res = await basicLogin('basic', 'boom', 'x');
    expectLoginFailed(res, 500);
    expect(res.text).not.toContain(ERROR_DETAIL);
    expect(broker.logs.some((l) => l.includes('[ERROR]') && l.includes('raised an error') && l.includes(ERROR_DETAIL))).toBe(true);
  });

  it('a strategy that never answers fails after the timeout; a late answer is ignored', async () => {
    expectLoginFailed(await basicLogin('basic-quick', 'hang', 'x'), 504);
    expectLoginFailed(await basicLogin('basic-quick', 'slow', 'x'), 504);
    await Promise.all(lateAnswers);
    expect(ssoCalls()).toHaveLength(0);
    expect(broker.logs.some((l) => l.includes('did not answer within 300 ms'))).toBe(true);
    // The broker still serves.
    expect((await basicLogin('basic-quick', 'alice', 'alice-pass')).status).toBe(302);
  });

  it("redirect (passport-oauth2): start is a no-store 302 to the IdP's authorization endpoint", async () => {
    const res = await request(broker.url).get('/auth/oauth/oauth2');
    expect(res.status).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const to = new URL(String(res.headers.location));
    expect(`${to.origin}${to.pathname}`).toBe('https://idp.example.com/oauth/authorize');
    expect(Object.fromEntries(to.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'passport-client',
      redirect_uri: 'https://broker.example.com/auth/oauth/oauth2/callback',
      scope: 'profile',
    });
    expect(ssoCalls()).toHaveLength(0);
  });

  it('passport-oauth2 callback: the code is exchanged at the token endpoint and the user logs in', async () => {
    const res = await request(broker.url).get('/auth/oauth/oauth2/callback?code=good-code');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${stub.url}/tap?nonce=${stub.issuedNonces.at(-1)}`);
    expect(tokenRequests.at(-1)).toMatchObject({ grant_type: 'authorization_code', code: 'good-code', client_id: 'passport-client' });
    expect(ssoCalls()[0]?.body).toMatchObject({ EmailAddress: 'carol@example.org', GroupsIDs: ['tyk-developers'] });
  });

  it('passport-oauth2 callback: a refused code is an error (500), access_denied a failure (401)', async () => {
    expectLoginFailed(await request(broker.url).get('/auth/oauth/oauth2/callback?code=stolen-code'), 500);
    expectLoginFailed(await request(broker.url).get('/auth/oauth/oauth2/callback?error=access_denied&error_description=no'), 401);
  });
});

describe('strategies that misbehave', () => {
  it('pass() is a failure (there is no session); a throw and a rejected promise are logged 500s', async () => {
    expectLoginFailed(await request(broker.url).get('/auth/odd-pass/odd'), 401);
    expectLoginFailed(await request(broker.url).get('/auth/odd-throw/odd'), 500);
    expectLoginFailed(await request(broker.url).get('/auth/odd-reject/odd/callback'), 500);
    expect(broker.logs.some((l) => l.includes('passed without a decision'))).toBe(true);
    expect(broker.logs.some((l) => l.includes('raised an error') && l.includes('async strategy bug'))).toBe(true);
  });
});

describe('custom ProviderNames', () => {
  async function loadWith(profiles: unknown[], providers?: ProviderModule[]) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'passport-names-'));
    const profilesPath = path.join(dir, 'profiles.json');
    await fs.writeFile(profilesPath, JSON.stringify(profiles));
    try {
      const b = await createBroker({ config: { ...defaultConfig(), ProfileDir: dir }, profilesPath, watch: false, check: true, providers });
      await b.close();
      return undefined;
    } catch (err) {
      return err;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  it('a name nobody registered is refused at load time, naming the profile and field', async () => {
    const err = await loadWith([profile('p', 'BasicAuth')]);
    expect(err).toBeInstanceOf(StartupError);
    expect(String(err)).toMatch(/profile "p" \(#1\): ProviderName: must be one of SocialProvider, ADProvider, ProxyProvider, SAMLProvider \(case-sensitive\), got "BasicAuth"/);
    expect(await loadWith([profile('p', 'BasicAuth')], [basicProvider])).toBeUndefined();
  });

  it("TIB's provider names cannot be replaced, and a registered provider's FailureRedirect is checked", async () => {
    expect(String(await loadWith([], [{ ...basicProvider, name: 'ADProvider' }]))).toMatch(/providers: "ADProvider" cannot be registered/);
    const bad = await loadWith([profile('p', 'BasicAuth', { FailureRedirect: 'javascript:alert(1)' })], [basicProvider]);
    expect(String(bad)).toMatch(/ProviderConfig\.FailureRedirect: must be an absolute http or https URL/);
  });
});
