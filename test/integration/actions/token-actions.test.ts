/**
 * The two token actions end to end (issue 9, item 6): LDAP logins against a real slapd run through the broker
 * into GenerateTemporaryAuthToken and GenerateOAuthTokenForClient, against the recording Tyk stub. Checked on
 * the wire: `POST /api/keys` and the Gateway's authorize-client call (method, path, headers, body: docs/tib-behaviour.md
 * §5.6-5.8), the browser's answer (redirect or JSON), and "one token per user": a second login of the same
 * user deletes the first token through the Dashboard, with the in-memory cache and with a real redis-server
 * (also when the first token was recorded by TIB, raw, under TIB's own key), across two replicas.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { validateProfileList } from '../../../src/profiles/validate.js';
import { openRecord, recordKeys, sealRecord, sealedKey } from '../../../src/state/identity-cache.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { freePort, ldapProfile, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type RecordedRequest, type TykStub } from '../../support/tyk-stub.js';
import { TIB_RULES } from '../../support/rules.js';

const CRED = 'dashboard-credential-for-token-tests';
const ADMIN = 'dashboard-admin-secret-for-token-tests';
const GW = 'gateway-secret-for-token-tests';
const OAUTH_SECRET = 'oauth-client-secret-never-sent';
const USER = 'alice@ADProvider.com';
const SESSION_SECRET = 'session-secret-of-the-token-tests-0123456789';

let slapd: Slapd;
let stub: TykStub;
let redis: TestRedis;
let rdb: Redis;
let mem: TestBroker;
let replica1: TestBroker;
let replica2: TestBroker;
let down: TestBroker;

function tokenProfile(id: string, ihc: Record<string, unknown> = {}, over: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}) {
  return ldapProfile(slapd, {
    id,
    name: `token ${id}`,
    actionType: 'GenerateTemporaryAuthToken',
    returnUrl: `${stub.url}/app/cb`,
    credential: CRED,
    identityHandlerConfig: { TokenAuth: { BaseAPIID: 'api-base', Expires: 600 }, ...ihc },
    profile: { MatchedPolicyID: 'policy-1', ...over },
    providerConfig: { LDAPTimeout: 3000, LDAPConnectTimeout: 1000, ...providerConfig },
  });
}

function oauthProfile(id: string, oauth: Record<string, unknown> = {}, ihc: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}) {
  const OAuth = { APIListenPath: '/oauth-api/', BaseAPIID: 'api-oauth', ClientId: 'client-1', RedirectURI: 'http://app.example.com/cb', ResponseType: 'token', Secret: OAUTH_SECRET, NoRedirect: false, ...oauth };
  return tokenProfile(id, { OAuth, ...ihc }, { ActionType: 'GenerateOAuthTokenForClient', MatchedPolicyID: 'policy-2', ReturnURL: '' }, providerConfig);
}

const tokenProfiles = () => [
  tokenProfile('key'),
  tokenProfile('key-json', {}, { ReturnURL: '' }),
  tokenProfile('key-again'),
  tokenProfile('key-many', { DisableOneTokenPerAPI: true }),
  tokenProfile('key-odd'),
  tokenProfile('key-fragment', {}, { ReturnURL: `${stub.url}/app/cb?from=tib#/done` }),
  tokenProfile('key-fail'),
  tokenProfile('key-fail-redirect', {}, {}, { FailureRedirect: `${stub.url}/login-failed` }),
  tokenProfile('key-refused'),
  tokenProfile('key-quirk'),
  tokenProfile('key-hang'),
  tokenProfile('key-redis'),
  tokenProfile('key-tib'),
  tokenProfile('key-tib-quoted'),
  tokenProfile('key-tib-odd'),
  tokenProfile('key-replicas'),
  tokenProfile('key-redis-down'),
  tokenProfile('key-sealed'),
  tokenProfile('key-plain'),
  tokenProfile('key-other-secret'),
  oauthProfile('oauth'),
  oauthProfile('oauth-json', { APIListenPath: 'oauth-api', NoRedirect: true }),
  oauthProfile('oauth-root', { APIListenPath: '/' }),
  oauthProfile('oauth-deep', { APIListenPath: '/v1//partners/' }),
  oauthProfile('oauth-code', { ResponseType: 'code' }),
  oauthProfile('oauth-again'),
  oauthProfile('oauth-many', {}, { DisableOneTokenPerAPI: true }),
  oauthProfile('oauth-fail'),
  oauthProfile('oauth-redis'),
];

beforeAll(async () => {
  let closedPort: number;
  [slapd, stub, redis, closedPort] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN, gatewaySecret: GW }), startRedis(), freePort()]);
  rdb = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  await rdb.connect();
  // Endpoints with a trailing slash: no URL may come out with "//".
  const tyk = {
    DashboardConfig: { Endpoint: `${stub.endpoint}/`, Port: stub.port, AdminSecret: ADMIN },
    GatewayConfig: { Endpoint: `${stub.endpoint}/`, Port: stub.port, AdminSecret: GW },
    Timeout: 1,
  };
  const onRedis = { Name: 'redis' as const, IdentityBackendSettings: { Host: redis.host, Port: redis.port } };
  [mem, replica1, replica2] = await Promise.all([
    startTestBroker({ profiles: tokenProfiles(), config: { TykAPISettings: tyk } }),
    startTestBroker({ profiles: tokenProfiles(), config: { TykAPISettings: tyk, BackEnd: onRedis, SessionSecret: SESSION_SECRET } }),
    startTestBroker({ profiles: tokenProfiles(), config: { TykAPISettings: tyk, BackEnd: onRedis, SessionSecret: SESSION_SECRET } }),
  ]);
  const closed = { Endpoint: 'http://127.0.0.1', Port: String(closedPort), AdminSecret: ADMIN };
  down = await startTestBroker({ profiles: tokenProfiles(), config: { TykAPISettings: { DashboardConfig: closed, GatewayConfig: { ...closed, AdminSecret: GW }, Timeout: 1 } } });
}, 60_000);

afterAll(async () => {
  await Promise.all([mem?.close(), replica1?.close(), replica2?.close(), down?.close()]);
  rdb?.disconnect();
  await stub?.close();
  await slapd?.stop();
  await redis?.stop();
});
beforeEach(() => stub.reset());

const login = (b: TestBroker, id: string, username = 'alice', password = 'alice-pass') => request(b.url).post(`/auth/${id}/ldap`).type('form').send({ username, password });
const tykCalls = () => stub.requests.filter((r) => r.path.startsWith('/api/') || r.path.includes('/tyk/'));
const keyPosts = () => stub.requests.filter((r) => r.path === '/api/keys');
const gatewayCalls = () => stub.requests.filter((r) => r.path.endsWith('/tyk/oauth/authorize-client/'));
const tokenFrom = (location: string) => new URLSearchParams(new URL(location).hash.slice(1)).get('token') ?? '';

/** docs/tib-behaviour.md §5.8, in TIB's order. */
function expectedSession(opts: { apiId: string; expires: number; clientId: string; policy: string }) {
  return {
    last_check: 0,
    allowance: 1,
    rate: 1,
    per: 1,
    expires: opts.expires,
    quota_max: 1,
    quota_renews: 60,
    quota_remaining: 1,
    quota_renewal_rate: 1,
    access_rights: { [opts.apiId]: { api_name: 'Base', api_id: opts.apiId, versions: ['Default'], allowed_urls: null } },
    org_id: 'org-1',
    oauth_client_id: opts.clientId,
    oauth_keys: null,
    basic_auth_data: { password: '', hash_type: '' },
    jwt_data: { secret: '' },
    hmac_enabled: false,
    hmac_string: '',
    is_inactive: false,
    apply_policy_id: opts.policy,
    data_expires: 0,
    monitor: { trigger_limits: null },
    meta_data: { AccessToken: '', AccessTokenSecret: '', AuthProviderSource: 'ADProvider', AuthProviderUserID: 'alice', Origin: 'TAP' },
    tags: ['TykOrigin-TAP'],
  };
}

function expectDeletion(r: RecordedRequest | undefined, apiPath: string) {
  expect(r).toBeDefined();
  expect(r?.method).toBe('DELETE');
  expect(r?.path).toBe(apiPath);
  expect(r?.headers.authorization).toBe(CRED);
  expect(r?.raw).toBe('');
}

describe('GenerateTemporaryAuthToken (docs/tib-behaviour.md §5.7)', () => {
  it('POST /api/keys with the credential and the session of docs/tib-behaviour.md §5.8, then 302 to ReturnURL#token=<key>', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await login(mem, 'key');
    const after = Math.floor(Date.now() / 1000);

    expect(res.status).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const key = tokenFrom(res.headers.location ?? '');
    expect(res.headers.location).toBe(`${stub.url}/app/cb#token=${key}`);
    expect(stub.keys.get(key)?.via).toBe('dashboard');

    expect(tykCalls()).toHaveLength(1);
    const [post] = keyPosts();
    expect(post?.method).toBe('POST');
    expect(post?.headers.authorization).toBe(CRED);
    expect(post?.headers['content-type']).toBe('application/json');
    const expires = (post?.body as { expires: number }).expires;
    expect(expires).toBeGreaterThanOrEqual(before + 600);
    expect(expires).toBeLessThanOrEqual(after + 600);
    // Byte for byte: key order and values.
    expect(post?.raw).toBe(JSON.stringify(expectedSession({ apiId: 'api-base', expires, clientId: '', policy: 'policy-1' })));
  });

  it("without ReturnURL answers TIB's JSON {\"key_id\":...}", async () => {
    const res = await login(mem, 'key-json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body as object)).toEqual(['key_id']);
    expect(stub.keys.has((res.body as { key_id: string }).key_id)).toBe(true);
  });

  it('one token per user: the second login deletes the first key through the Dashboard before the new one is made', async () => {
    const first = tokenFrom((await login(mem, 'key-again')).headers.location ?? '');
    stub.reset();
    const second = tokenFrom((await login(mem, 'key-again')).headers.location ?? '');

    expect(tykCalls().map((r) => `${r.method} ${r.path}`)).toEqual([`DELETE /api/apis/api-base/keys/${first}`, 'POST /api/keys']);
    expectDeletion(tykCalls()[0], `/api/apis/api-base/keys/${first}`);
    expect(stub.keys.has(first)).toBe(false);
    expect(stub.keys.has(second)).toBe(true);

    // Another user's login touches nobody else's key.
    stub.reset();
    await login(mem, 'key-again', 'bob', 'bob-pass');
    expect(stub.deletedKeys).toEqual([]);
    expect(stub.keys.has(second)).toBe(true);
  });

  it('DisableOneTokenPerAPI: true keeps every key', async () => {
    const first = tokenFrom((await login(mem, 'key-many')).headers.location ?? '');
    const second = tokenFrom((await login(mem, 'key-many')).headers.location ?? '');
    expect(first).not.toBe(second);
    expect(stub.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(stub.keys.has(first) && stub.keys.has(second)).toBe(true);
  });

  it('encodes: a Base64 key id in the fragment and in the deletion path; a ReturnURL with a query and a fragment keeps both', async () => {
    stub.nextKeyIds.push('eyJvcmciOiIx+IiwiaWQiOiJh/In0=');
    const res = await login(mem, 'key-odd');
    expect(res.headers.location).toBe(`${stub.url}/app/cb#token=eyJvcmciOiIx%2BIiwiaWQiOiJh%2FIn0%3D`);
    expect(tokenFrom(res.headers.location ?? '')).toBe('eyJvcmciOiIx+IiwiaWQiOiJh/In0=');
    await login(mem, 'key-odd');
    expect(stub.requests.find((r) => r.method === 'DELETE')?.path).toBe('/api/apis/api-base/keys/eyJvcmciOiIx+IiwiaWQiOiJh%2FIn0=');
    expect(stub.deletedKeys).toEqual([{ apiId: 'api-base', key: 'eyJvcmciOiIx+IiwiaWQiOiJh/In0=', found: true }]);

    const withFragment = await login(mem, 'key-fragment');
    const key = [...stub.keys.keys()].at(-1) ?? '';
    expect(withFragment.headers.location).toBe(`${stub.url}/app/cb?from=tib#/done&token=${key}`);
  });
});

describe('GenerateOAuthTokenForClient (docs/tib-behaviour.md §5.6)', () => {
  const keyRules = () => JSON.stringify(expectedSession({ apiId: 'api-oauth', expires: -1, clientId: 'client-1', policy: 'policy-2' }));

  it("POST {listen path}/tyk/oauth/authorize-client/ with the Gateway secret and TIB's form, then 302 to redirect_to", async () => {
    const res = await login(mem, 'oauth');
    expect(res.status).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');

    expect(tykCalls()).toHaveLength(1);
    const [call] = gatewayCalls();
    expect(call?.method).toBe('POST');
    expect(call?.path).toBe('/oauth-api/tyk/oauth/authorize-client/');
    expect(call?.headers['x-tyk-authorization']).toBe(GW);
    expect(call?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(call?.headers.authorization).toBeUndefined();
    const form = new URLSearchParams(call?.raw);
    expect([...form.keys()]).toEqual(['response_type', 'client_id', 'redirect_uri', 'key_rules']);
    expect(form.get('response_type')).toBe('token');
    expect(form.get('client_id')).toBe('client-1');
    expect(form.get('redirect_uri')).toBe('http://app.example.com/cb');
    expect(form.get('key_rules')).toBe(keyRules());
    expect(call?.raw).not.toContain(OAUTH_SECRET);

    const token = [...stub.keys.entries()].find(([, k]) => k.via === 'gateway')?.[0] ?? '';
    expect(res.headers.location).toBe(`http://app.example.com/cb#access_token=${token}&token_type=bearer&expires_in=3600`);
  });

  it("NoRedirect answers the Gateway's token as TIB's JSON; a listen path without slashes gives the same path", async () => {
    const res = await login(mem, 'oauth-json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.body as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['access_token', 'expires_in', 'redirect_to', 'token_type']);
    expect(body).toMatchObject({ expires_in: 3600, token_type: 'bearer' });
    expect(stub.keys.get(String(body.access_token))?.via).toBe('gateway');
    expect(gatewayCalls().map((r) => r.path)).toEqual(['/oauth-api/tyk/oauth/authorize-client/']);
  });

  it('listen paths "/" and "/v1//partners/" give /tyk/... and /v1/partners/tyk/...', async () => {
    await login(mem, 'oauth-root');
    await login(mem, 'oauth-deep');
    expect(gatewayCalls().map((r) => r.path)).toEqual(['/tyk/oauth/authorize-client/', '/v1/partners/tyk/oauth/authorize-client/']);
  });

  it('one token per user: the second login deletes the first access token through the Dashboard, then asks the Gateway', async () => {
    await login(mem, 'oauth-again');
    const first = [...stub.keys.entries()].filter(([, k]) => k.via === 'gateway').at(-1)?.[0] ?? '';
    stub.reset();
    await login(mem, 'oauth-again');
    expect(tykCalls().map((r) => `${r.method} ${r.path}`)).toEqual([`DELETE /api/apis/api-oauth/keys/${first}`, 'POST /oauth-api/tyk/oauth/authorize-client/']);
    expectDeletion(tykCalls()[0], `/api/apis/api-oauth/keys/${first}`);
    expect(stub.keys.has(first)).toBe(false);
  });

  it('DisableOneTokenPerAPI: true deletes nothing', async () => {
    await login(mem, 'oauth-many');
    await login(mem, 'oauth-many');
    expect(stub.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(gatewayCalls()).toHaveLength(2);
  });

  it('the code flow redirects with the code and records no token (the next login deletes nothing)', async () => {
    const res = await login(mem, 'oauth-code');
    expect(res.status).toBe(302);
    expect(res.headers.location).toMatch(/^http:\/\/app\.example\.com\/cb\?code=[0-9a-f]{24}$/);
    expect(new URLSearchParams(gatewayCalls()[0]?.raw).get('response_type')).toBe('code');
    await login(mem, 'oauth-code');
    expect(stub.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  it('no URL has a doubled slash, although both endpoints end in "/" and the listen path has slashes', async () => {
    await login(mem, 'key');
    await login(mem, 'oauth');
    expect(stub.requests.map((r) => r.path)).toEqual([expect.stringMatching(/^\/api\/apis\/api-base\/keys\/[0-9a-f]{24}$/), '/api/keys', expect.stringMatching(/^\/api\/apis\/api-oauth\/keys\//), '/oauth-api/tyk/oauth/authorize-client/']);
    for (const r of stub.requests) expect(r.path).not.toContain('//');
  });
});

describe('failures end in the profile failure response, with TIB messages', () => {
  it('the Dashboard answering 500, or not at all within Timeout, or being down', async () => {
    stub.failNext('/api/keys', 500);
    let res = await login(mem, 'key-fail');
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ Status: 'error', Error: 'Auth token generation failed' });

    stub.failNext('/api/keys', 'hang');
    const t0 = Date.now();
    res = await login(mem, 'key-fail');
    expect(res.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(5000);

    res = await login(down, 'key-fail');
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ Status: 'error', Error: 'Auth token generation failed' });

    stub.failNext('/api/keys', 500);
    res = await login(mem, 'key-fail-redirect');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${stub.url}/login-failed`);
  });

  it('a 200 without key_id is a failure, not a redirect to #token=', async () => {
    stub.nextKeyIds.push('');
    const res = await login(mem, 'key-fail');
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ Status: 'error', Error: 'Auth token generation failed' });
  });

  it('the Gateway refusing, or down', async () => {
    stub.failNext('/oauth-api/tyk/oauth/authorize-client/', 403);
    let res = await login(mem, 'oauth-fail');
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ Status: 'error', Error: 'OAuth token generation failed' });
    res = await login(down, 'oauth-fail');
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ Status: 'error', Error: 'OAuth token generation failed' });
  });

  it('the Dashboard refusing the deletion (401): no new key, TIB message', async () => {
    await login(mem, 'key-refused');
    stub.reset();
    stub.failNext('/api/apis/', 401);
    const res = await login(mem, 'key-refused');
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ Status: 'error', Error: 'Auth token generation failed due to invalid user credentials.' });
    expect(keyPosts()).toEqual([]);
  });

  it('a deletion without an answer within Timeout: 504, no new key, and the token is not in the log line', async () => {
    const first = tokenFrom((await login(mem, 'key-hang')).headers.location ?? '');
    stub.reset();
    stub.failNext('/api/apis/', 'hang');
    const res = await login(mem, 'key-hang');
    expect(res.status).toBe(504);
    expect(res.body).toEqual({ Status: 'error', Error: 'Auth token generation failed' });
    expect(keyPosts()).toEqual([]);
    const line = mem.logs.filter((l) => l.includes('login failed')).at(-1) ?? '';
    expect(line).toContain('DELETE /api/apis/<api>/keys/<previous token>: no answer within 1000 ms');
    expect(mem.logs.join('\n')).not.toContain(first);
  });

  it('a deletion answered with another error (500) is logged and the login goes on', async () => {
    await login(mem, 'key-quirk');
    stub.reset();
    stub.failNext('/api/apis/', 500);
    const res = await login(mem, 'key-quirk');
    expect(res.status).toBe(302);
    expect(keyPosts()).toHaveLength(1);
    expect(mem.logs.some((l) => l.includes('answered 500: the previous token of this user may still be valid'))).toBe(true);
  });
});

describe('one token per user on Redis, shared by two replicas', () => {
  // Our record: the user part of the key hashed, the value sealed, both keyed from the session secret.
  const keys = recordKeys(SESSION_SECRET);
  const ours = (profile: string) => sealedKey(keys, 'tib:', profile, USER);
  const stored = async (profile: string) => openRecord(keys, ours(profile), await rdb.get(ours(profile)));
  const plain = (profile: string) => `tib:identity-cache:${profile}:${USER}`;
  const tibs = (profile: string) => `identity-cache.${profile}-${USER}`;

  it('records the key under the prefixed key with the key lifetime as TTL; a login on the other replica deletes it', async () => {
    const first = tokenFrom((await login(replica1, 'key-redis')).headers.location ?? '');
    expect(await stored('key-redis')).toEqual({ token: first, apiId: 'api-base' });
    const ttl = await rdb.ttl(ours('key-redis'));
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);

    stub.reset();
    const second = tokenFrom((await login(replica2, 'key-redis')).headers.location ?? '');
    expect(tykCalls().map((r) => `${r.method} ${r.path}`)).toEqual([`DELETE /api/apis/api-base/keys/${first}`, 'POST /api/keys']);
    expect(stub.keys.has(first)).toBe(false);
    expect(await stored('key-redis')).toEqual({ token: second, apiId: 'api-base' });
  });

  it("deletes the key TIB recorded raw under its own unprefixed key, then forgets TIB's record", async () => {
    stub.keys.set('tib-raw-key-0001', { apiId: 'api-base', via: 'dashboard', session: {} });
    await rdb.set(tibs('key-tib'), 'tib-raw-key-0001');
    const res = await login(replica1, 'key-tib');
    expect(tykCalls().map((r) => `${r.method} ${r.path}`)).toEqual(['DELETE /api/apis/api-base/keys/tib-raw-key-0001', 'POST /api/keys']);
    expectDeletion(tykCalls()[0], '/api/apis/api-base/keys/tib-raw-key-0001');
    expect(stub.keys.has('tib-raw-key-0001')).toBe(false);
    expect(await rdb.exists(tibs('key-tib'))).toBe(0);
    expect(await stored('key-tib')).toEqual({ token: tokenFrom(res.headers.location ?? ''), apiId: 'api-base' });
  });

  it('reads a JSON-quoted TIB record too (redis-cli planted)', async () => {
    stub.keys.set('tib-quoted-key-0002', { apiId: 'api-base', via: 'dashboard', session: {} });
    await redis.cli('SET', tibs('key-tib-quoted'), '"tib-quoted-key-0002"');
    await login(replica2, 'key-tib-quoted');
    expect(stub.deletedKeys).toEqual([{ apiId: 'api-base', key: 'tib-quoted-key-0002', found: true }]);
    expect(await redis.cli('EXISTS', tibs('key-tib-quoted'))).toBe('0');
  });

  it('a TIB key holding something else than a string (WRONGTYPE) is no record and no outage', async () => {
    await rdb.hset(tibs('key-tib-odd'), 'field', 'value');
    const res = await login(replica1, 'key-tib-odd');
    expect(res.status).toBe(302);
    expect(stub.deletedKeys).toEqual([]);
  });

  it('OAuth: the access token is recorded for its expires_in and deleted at the next login on the other replica', async () => {
    await login(replica1, 'oauth-redis');
    const first = [...stub.keys.entries()].filter(([, k]) => k.via === 'gateway').at(-1)?.[0] ?? '';
    expect(await stored('oauth-redis')).toEqual({ token: first, apiId: 'api-oauth' });
    expect(await rdb.ttl(ours('oauth-redis'))).toBeGreaterThan(3590);
    stub.reset();
    await login(replica2, 'oauth-redis');
    expect(stub.deletedKeys).toEqual([{ apiId: 'api-oauth', key: first, found: true }]);
  });

  it('logins of one user at once on both replicas leave exactly one live key, the recorded one', async () => {
    const ids = ['race-key-0001', 'race-key-0002', 'race-key-0003', 'race-key-0004', 'race-key-0005', 'race-key-0006'];
    stub.nextKeyIds.push(...ids);
    await Promise.all([login(replica1, 'key-replicas'), login(replica2, 'key-replicas')]);
    await Promise.all([login(replica1, 'key-replicas'), login(replica2, 'key-replicas'), login(replica1, 'key-replicas'), login(replica2, 'key-replicas')]);
    expect(keyPosts()).toHaveLength(6);
    const recorded = (await stored('key-replicas'))?.token;
    expect(ids.filter((id) => stub.keys.has(id))).toEqual([recorded]);
  });

  it('Redis holds no user id and no token in clear: the key names a hash of the user, the value is sealed', async () => {
    const token = tokenFrom((await login(replica1, 'key-sealed')).headers.location ?? '');
    expect(token.length).toBeGreaterThan(8);
    const names = await rdb.keys('tib:identity-cache:key-sealed:*');
    expect(names).toEqual([ours('key-sealed')]);
    expect(names[0]).toMatch(/^tib:identity-cache:key-sealed:[0-9a-f]{64}$/);
    const raw = (await rdb.get(ours('key-sealed'))) ?? '';
    for (const clear of [token, 'alice', 'api-base']) expect(raw).not.toContain(clear);
    expect(await stored('key-sealed')).toEqual({ token, apiId: 'api-base' });
  });

  it("finds the previous version's clear record once (rolling upgrade), deletes its token, and writes only the sealed form", async () => {
    stub.keys.set('plain-key-0003', { apiId: 'api-base', via: 'dashboard', session: {} });
    await redis.cli('SET', plain('key-plain'), JSON.stringify({ token: 'plain-key-0003', api: 'api-base' }), 'EX', '600');
    const res = await login(replica2, 'key-plain');
    expect(tykCalls().map((r) => `${r.method} ${r.path}`)).toEqual(['DELETE /api/apis/api-base/keys/plain-key-0003', 'POST /api/keys']);
    expect(await rdb.exists(plain('key-plain'))).toBe(0);
    const second = tokenFrom(res.headers.location ?? '');
    expect(await stored('key-plain')).toEqual({ token: second, apiId: 'api-base' });
    stub.reset();
    await login(replica1, 'key-plain');
    expect(stub.deletedKeys).toEqual([{ apiId: 'api-base', key: second, found: true }]);
  });

  it('a record sealed under another session secret is no record, with one WARN, and the login goes on', async () => {
    const other = recordKeys('another-session-secret-of-another-broker-99');
    for (let i = 0; i < 2; i++) {
      stub.keys.set(`other-key-000${i}`, { apiId: 'api-base', via: 'dashboard', session: {} });
      await rdb.set(ours('key-other-secret'), sealRecord(other, ours('key-other-secret'), { token: `other-key-000${i}`, apiId: 'api-base' }), 'EX', 600);
      expect((await login(replica2, 'key-other-secret')).status).toBe(302);
    }
    expect(stub.deletedKeys).toEqual([]);
    expect(replica2.logs.filter((l) => l.includes('does not decrypt'))).toHaveLength(1);
  });

  it('Redis down: the login fails at once with the failure response; back up, logins work again', async () => {
    await redis.stop();
    try {
      const t0 = Date.now();
      const res = await login(replica1, 'key-redis-down');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ Status: 'error', Error: 'Auth token generation failed' });
      expect(keyPosts()).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(6000);
    } finally {
      await redis.restart();
    }
    let res = await login(replica1, 'key-redis-down');
    for (let i = 0; i < 50 && res.status !== 302; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await login(replica1, 'key-redis-down');
    }
    expect(res.status).toBe(302);
  });
});

describe('logs', () => {
  it('never contain a key, an access token, the credential or the Gateway secret', () => {
    const issued = [...stub.keys.keys(), ...stub.deletedKeys.map((d) => d.key)].filter((k) => k.length >= 8);
    expect(issued.length).toBeGreaterThan(10);
    for (const b of [mem, replica1, replica2, down]) {
      const text = b.logs.join('\n');
      expect(text.length).toBeGreaterThan(0);
      for (const secret of [...issued, CRED, GW, OAUTH_SECRET]) expect(text).not.toContain(secret);
    }
  });
});

describe('load-time checks (nothing --check accepts fails at the first login)', () => {
  const problems = (p: unknown) =>
    validateProfileList([p], undefined, TIB_RULES)
      .problems.map((x) => `${x.field}: ${x.message}`)
      .join('\n');
  const base = { ID: 'p', ProviderName: 'ADProvider', ProviderConfig: { LDAPServer: 'ldap.example.org', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' } };

  it('GenerateTemporaryAuthToken needs BaseAPIID and a DashboardCredential', () => {
    const text = problems({ ...base, ActionType: 'GenerateTemporaryAuthToken', IdentityHandlerConfig: { TokenAuth: {} } });
    expect(text).toContain('IdentityHandlerConfig.TokenAuth.BaseAPIID: is required');
    expect(text).toContain('IdentityHandlerConfig.DashboardCredential: is required for GenerateTemporaryAuthToken');
  });

  it('GenerateOAuthTokenForClient needs RedirectURI, ResponseType, a clean listen path, and a credential unless DisableOneTokenPerAPI', () => {
    const oauth = { APIListenPath: '../tyk/keys', BaseAPIID: 'a', ClientId: 'c' };
    const text = problems({ ...base, ActionType: 'GenerateOAuthTokenForClient', IdentityHandlerConfig: { OAuth: oauth } });
    expect(text).toContain('IdentityHandlerConfig.OAuth.RedirectURI: is required');
    expect(text).toContain('IdentityHandlerConfig.OAuth.ResponseType: is required');
    expect(text).toContain('IdentityHandlerConfig.OAuth.APIListenPath: must be the API\'s listen path');
    expect(text).toContain('IdentityHandlerConfig.DashboardCredential: is required for GenerateOAuthTokenForClient');
    const ok = { ...oauth, APIListenPath: '/oauth/', RedirectURI: 'myapp://cb', ResponseType: 'token' };
    expect(problems({ ...base, ActionType: 'GenerateOAuthTokenForClient', IdentityHandlerConfig: { OAuth: ok, DisableOneTokenPerAPI: true } })).toBe('');
  });
});
