/**
 * A login in flight lives in the browser (src/state/login-flow-cookie.ts): a sealed cookie per flow, nothing
 * stored at the start. Against the real OpenID Provider and the broker's services on a real redis-server
 * (`BackEnd.Name: "redis"`): two tabs finish in either order; a start writes nothing to Redis; a replayed
 * callback is refused (also with a second code the OP issued for the same state, which only the replay mark
 * written after verification can refuse); a callback in a browser without the cookie is refused; a profile
 * edited between start and callback ends that login.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-flow-tests';
const ADMIN = 'dashboard-admin-secret-for-flow-tests';
const API_SECRET = 'broker-admin-api-secret-for-flow-tests-0123456789';
const CLIENT_SECRET = 'oidc-client-secret-for-flow-tests';
const SESSION_SECRET = 'session-secret-for-flow-tests-0123456789';

let op: TestOp;
let stub: TykStub;
let redis: TestRedis;
let broker: TestBroker;
let base: string;

const callbackOf = (id: string) => `${base}/auth/${id}/openid-connect/callback`;
const profile = (id: string, over: Record<string, unknown> = {}) =>
  oidcProfile({ id, discoveryUrl: op.discoveryUrl, callbackBase: base, returnUrl: `${stub.url}/tap`, credential: CRED, key: 'broker', secret: CLIENT_SECRET, profile: over });

async function start(id: string, jar: CookieJar): Promise<{ authUrl: string; res: Response }> {
  const res = await fetchWithJar(`${base}/auth/${id}/openid-connect`, jar);
  expect(res.status).toBe(302);
  return { authUrl: res.headers.get('location') ?? '', res };
}

/** Refused with `reason` in the one "login failed" line this callback wrote. */
async function expectRejected(call: Promise<Response>, reason: RegExp) {
  const before = broker.logs.length;
  const res = await call;
  expect(res.status).toBe(400);
  expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(0);
  const failed = broker.logs.slice(before).filter((l) => l.includes('login failed'));
  expect(failed).toEqual([expect.stringMatching(reason)]);
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  [stub, redis] = await Promise.all([startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN }), startRedis()]);
  op = await startTestOp({ redirectUris: ['dash', 'edited'].map(callbackOf), clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET }] });
  // The HTTP layer's per-client start limit (tib.conf LoginStartsPerMinute) off: every start here is one client's.
  const config = {
    LoginStartsPerMinute: 0,
    Secret: API_SECRET,
    SessionSecret: SESSION_SECRET,
    BackEnd: { Name: 'redis' as const, IdentityBackendSettings: { Host: '127.0.0.1', Port: redis.port } },
    TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } },
  };
  broker = await startTestBroker({
    port,
    config,
    profiles: [profile('dash'), profile('edited')],
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await op?.close();
  await stub?.close();
  await redis?.stop();
  if (redis) fs.rmSync(redis.dir, { recursive: true, force: true });
});

beforeEach(() => stub.reset());

describe('a sealed cookie per flow', () => {
  it('is HttpOnly, SameSite=Lax, scoped to /auth/, as long-lived as LoginTimeout, and named from the state', async () => {
    const { res, authUrl } = await start('dash', new CookieJar());
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^tib_flow_[\w-]{16}=[\w-]{100,}; Max-Age=300; Path=\/auth\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
    // Neither the state nor the nonce is readable in it.
    const url = new URL(authUrl);
    for (const v of [url.searchParams.get('state') ?? '', url.searchParams.get('nonce') ?? '']) expect(cookies[0]).not.toContain(v);
  });

  it('two tabs, started then finished in the other order, both log in; each callback clears its own cookie', async () => {
    const jar = new CookieJar();
    const first = await start('dash', jar);
    const second = await start('dash', jar);
    const secondBack = await loginAtOp(second.authUrl, jar, 'alice', callbackOf('dash'));
    const firstBack = await loginAtOp(first.authUrl, jar, 'alice', callbackOf('dash'));
    for (const back of [secondBack, firstBack]) {
      const res = await fetchWithJar(back, jar);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toMatch(/\/tap\?nonce=/);
      expect(res.headers.getSetCookie()).toEqual([expect.stringMatching(/^tib_flow_[\w-]{16}=; Max-Age=0; /)]);
    }
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(2);
  });

  it('1000 starts write nothing to Redis', async () => {
    const before = await redis.cli('DBSIZE');
    for (let i = 0; i < 1000; i++) {
      const res = await fetch(`${base}/auth/dash/openid-connect`, { redirect: 'manual' });
      expect(res.status).toBe(302);
    }
    expect(await redis.cli('DBSIZE')).toBe(before);
  }, 60_000);
});

describe('refused callbacks', () => {
  it('the same callback replayed with the same cookie', async () => {
    const jar = new CookieJar();
    const { authUrl } = await start('dash', jar);
    const back = await loginAtOp(authUrl, jar, 'alice', callbackOf('dash'));
    const cookie = jar.header(base);
    expect((await fetch(back, { headers: { cookie }, redirect: 'manual' })).status).toBe(302);
    stub.reset();
    await expectRejected(fetch(back, { headers: { cookie }, redirect: 'manual' }), /token exchange .*invalid_grant/);
  });

  it('a second code for the same state, verified by the OP: refused by the replay mark written at the first login', async () => {
    const jar = new CookieJar();
    const { authUrl } = await start('dash', jar);
    const cookie = jar.header(base);
    const back = await loginAtOp(authUrl, jar, 'alice', callbackOf('dash'));
    // The OP signs alice in again for the same authorization request: a fresh, valid code with the same state.
    const again = await loginAtOp(authUrl, jar, 'alice', callbackOf('dash'));
    expect(new URL(again).searchParams.get('code')).not.toBe(new URL(back).searchParams.get('code'));
    const keys = Number(await redis.cli('DBSIZE'));
    expect((await fetch(back, { headers: { cookie }, redirect: 'manual' })).status).toBe(302);
    // The one thing a verified login stores: its replay mark (a hash of the state, never the state).
    expect(Number(await redis.cli('DBSIZE'))).toBe(keys + 1);
    stub.reset();
    await expectRejected(fetch(again, { headers: { cookie }, redirect: 'manual' }), /already used state \(replay\)/);
  });

  it('a callback in a browser without the cookie (login CSRF): refused, and nothing is written', async () => {
    const victim = new CookieJar();
    const { authUrl } = await start('dash', victim);
    const back = await loginAtOp(authUrl, victim, 'bob', callbackOf('dash'));
    const keys = await redis.cli('DBSIZE');
    await expectRejected(fetchWithJar(back, new CookieJar()), /belongs to another browser \(no login cookie of this profile for it\)/);
    // An attacker's own cookie for another flow does not help either.
    const attacker = new CookieJar();
    await start('dash', attacker);
    await expectRejected(fetchWithJar(back, attacker), /belongs to another browser/);
    expect(await redis.cli('DBSIZE')).toBe(keys);
  });

  it('a profile edited between the start and the callback ends that login as an expired one', async () => {
    const jar = new CookieJar();
    const { authUrl } = await start('edited', jar);
    const back = await loginAtOp(authUrl, jar, 'alice', callbackOf('edited'));
    const put = await fetch(`${base}/api/profiles/edited`, { method: 'PUT', headers: { authorization: API_SECRET, 'content-type': 'application/json' }, body: JSON.stringify(profile('edited', { Name: 'renamed' })) });
    expect(put.status).toBe(200);
    await expectRejected(fetchWithJar(back, jar), /unknown, expired or already used state/);
    // A login started after the edit works.
    const fresh = new CookieJar();
    const next = await start('edited', fresh);
    expect((await fetchWithJar(await loginAtOp(next.authUrl, fresh, 'alice', callbackOf('edited')), fresh)).status).toBe(302);
  });
});
