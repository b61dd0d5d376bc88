/**
 * Redis faults (issue 9 items 4 and 5), with BackEnd "redis" and a real redis-server: down at start, the
 * broker starts anyway, /ready answers 503 and turns 200 by itself when Redis comes; lost under a bounded
 * stream of logins, each login fails quickly and cleanly (the failure response, never a 500 or a hang) and
 * works again by itself when Redis is back. A start needs no Redis (the flow is sealed in the browser's cookie:
 * src/state/login-flow-cookie.ts); the callback, which writes the login's replay mark once the IdP's answer has
 * verified, is what fails. The Redis password never reaches a log line.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';
import { defaultConfig } from '../../../src/config/load.js';
import { getLogger } from '../../../src/log.js';
import { validateProfile } from '../../../src/profiles/validate.js';
import { RedisIdentityCache, recordKeys, sealedKey } from '../../../src/state/identity-cache.js';
import { flowCookieName, profileVersion, sealFlow } from '../../../src/state/login-flow-cookie.js';
import { FIRST } from '../../support/rules.js';
import { closeRedis, createRedisClient, waitForRedis } from '../../../src/state/redis-client.js';

const CRED = 'dashboard-credential-for-fault-tests';
const CLIENT_SECRET = 'oidc-client-secret-for-fault-tests';
const REDIS_PASSWORD = 'redis-password-never-in-a-log-line';
const TIMEOUT_S = 2;
/**
 * Bound on one failed login: under two Timeouts, so a login may wait for Redis once but never twice (the
 * client must never queue or hang); the rest is room for a loaded machine.
 */
const QUICK_MS = 2 * TIMEOUT_S * 1000 - 100;

let redisPort: number;
let redis: TestRedis | undefined;
let stub: TykStub;
let op: TestOp;
let broker: TestBroker;
let base: string;
let startMs: number;

const callback = () => `${base}/auth/oidc/openid-connect/callback`;

async function timed(url: string, jar = new CookieJar()): Promise<{ res: Response; ms: number }> {
  const t = Date.now();
  const res = await fetchWithJar(url, jar);
  return { res, ms: Date.now() - t };
}

async function ready(): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}/ready`);
  return { status: res.status, body: await res.json() };
}

async function until(what: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A login started (needing no Redis, so at once) and signed in at the OP: the callback URL and the browser. */
async function toCallback(): Promise<{ cb: string; jar: CookieJar }> {
  const jar = new CookieJar();
  const { res: start, ms } = await timed(`${base}/auth/oidc/openid-connect`, jar);
  expect([start.status, ms < QUICK_MS]).toEqual([302, true]);
  return { cb: await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', callback()), jar };
}

async function fullLogin(): Promise<Response> {
  const { cb, jar } = await toCallback();
  return fetchWithJar(cb, jar);
}

/** A failed login as the profile answers it: TIB's envelope with a 503, no detail, no 500. */
async function expectCleanFailure(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(await res.json()).toEqual({ Status: 'error', Error: 'Login failed' });
}

beforeAll(async () => {
  redisPort = await freePort();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: 'admin-secret-faults' });
  op = await startTestOp({ redirectUris: [callback()], clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET }] });
  const t = Date.now();
  // Redis is not running yet.
  broker = await startTestBroker({
    port,
    profiles: [
      oidcProfile({ id: 'oidc', discoveryUrl: op.discoveryUrl, callbackBase: base, returnUrl: `${stub.url}/tap`, credential: CRED, key: 'broker', secret: CLIENT_SECRET }),
    ],
    config: {
      SessionSecret: 'session-secret-for-fault-tests-0123456789',
      BackEnd: { Name: 'redis', IdentityBackendSettings: { Host: '127.0.0.1', Port: redisPort, Password: REDIS_PASSWORD, Timeout: TIMEOUT_S } },
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port } },
    },
  });
  startMs = Date.now() - t;
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await op?.close();
  await stub?.close();
  await redis?.stop();
});

describe('Redis down at start', () => {
  it('the broker starts anyway, without waiting out the timeout', () => {
    expect(startMs).toBeLessThan(QUICK_MS);
    expect(broker.logs.filter((l) => l.includes(`Redis 127.0.0.1:${redisPort} unreachable: ECONNREFUSED`))).toHaveLength(1);
  });

  it('/ready answers 503 with a short reason; /health stays 200', async () => {
    const r = await ready();
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ Status: 'error', Error: expect.stringMatching(/^Redis unreachable: not connected \(\w+\)$/) });
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it('a start needs no Redis; the callback, which writes the replay mark, fails quickly with the failure response', async () => {
    const { cb, jar } = await toCallback();
    const { res, ms } = await timed(cb, jar);
    expect(ms).toBeLessThan(QUICK_MS);
    await expectCleanFailure(res);
    expect(broker.logs.some((l) => /login failed.*status=503.*login replay marks unavailable/.test(l))).toBe(true);
  });

  it('Redis comes: the broker reconnects by itself, /ready turns 200, logins work', async () => {
    redis = await startRedis({ port: redisPort, password: REDIS_PASSWORD });
    await until(async () => (await ready()).status === 200, 5000);
    expect(await ready()).toEqual({ status: 200, body: { Status: 'ok' } });
    expect(broker.logs.filter((l) => l.includes(`Redis 127.0.0.1:${redisPort} reachable again`))).toHaveLength(1);
    stub.reset();
    const res = await fullLogin();
    expect(res.status).toBe(302);
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(1);
  }, 15_000);
});

describe('Redis lost mid-flight', () => {
  it('a bounded stream of logins: each failure quick and clean, /ready follows, recovery by itself', async () => {
    const results: Array<{ i: number; status: number; ms: number; redisUp: boolean }> = [];
    const readiness: Array<{ redisUp: boolean; status: number }> = [];
    let redisUp = true;
    for (let i = 0; i < 40; i++) {
      if (i === 8) {
        await redis!.stop();
        redisUp = false;
      }
      if (i === 24) {
        await redis!.restart();
        redisUp = true;
        await until(async () => (await ready()).status === 200, 5000);
      }
      const { cb, jar } = await toCallback();
      const { res, ms } = await timed(cb, jar);
      results.push({ i, status: res.status, ms, redisUp });
      if (res.status !== 302) await expectCleanFailure(res);
      if (i % 4 === 0) readiness.push({ redisUp, status: (await ready()).status });
      await new Promise((r) => setTimeout(r, 25));
    }
    // Never a 500, never a hang; every login with Redis down failed; every one with Redis up succeeded.
    for (const r of results) {
      expect(r.ms).toBeLessThan(QUICK_MS);
      expect(r.status).toBe(r.redisUp ? 302 : 503);
    }
    expect(results.filter((r) => r.status === 503)).toHaveLength(16);
    for (const r of readiness) expect(r.status).toBe(r.redisUp ? 200 : 503);
    // One WARN for the outage and one INFO for the return, whatever the number of retries and failed logins.
    expect(broker.logs.filter((l) => l.includes(`Redis 127.0.0.1:${redisPort} unreachable`))).toHaveLength(2); // start + this outage
    expect(broker.logs.filter((l) => l.includes(`Redis 127.0.0.1:${redisPort} reachable again`))).toHaveLength(2);
  }, 60_000);

  it('a callback arriving while Redis is down fails quickly and cleanly (not a 500), and the next login works', async () => {
    const { cb, jar } = await toCallback();
    await redis!.stop();
    try {
      const { res, ms } = await timed(cb, jar);
      expect(ms).toBeLessThan(QUICK_MS);
      await expectCleanFailure(res);
      expect(broker.logs.some((l) => /login failed.*callback.*status=503.*login replay marks unavailable/.test(l))).toBe(true);
    } finally {
      await redis!.restart();
    }
    await until(async () => (await ready()).status === 200, 5000);
    stub.reset();
    expect((await fullLogin()).status).toBe(302);
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(1);
  }, 20_000);

  it('a hung Redis (it accepts, never answers): logins fail after Timeout, not later; /ready says so within a second', async () => {
    const { cb, jar } = await toCallback();
    redis!.pause();
    try {
      const { res, ms } = await timed(cb, jar);
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 100); // it did wait for Redis: this is the timeout at work
      expect(ms).toBeLessThan(QUICK_MS);
      await expectCleanFailure(res);
      const t = Date.now();
      expect((await ready()).status).toBe(503);
      expect(Date.now() - t).toBeLessThan(QUICK_MS);
    } finally {
      redis!.resume();
    }
    await until(async () => (await ready()).status === 200, 5000);
    expect((await fetch(`${base}/auth/oidc/openid-connect`, { redirect: 'manual' })).status).toBe(302);
  }, 20_000);

  it('the Redis password never appears in a log line', () => {
    expect(broker.logs.length).toBeGreaterThan(0);
    for (const l of broker.logs) expect(l).not.toContain(REDIS_PASSWORD);
  });
});

describe('values planted in the keys the broker reads', () => {
  let redis: TestRedis;
  let op: TestOp;
  let broker: TestBroker;
  beforeAll(async () => {
    redis = await startRedis();
    op = await startTestOp({ redirectUris: ['http://127.0.0.1:1/auth/oidc/openid-connect/callback'], clients: [{ client_id: 'broker', client_secret: 'planted-client-secret' }] });
    broker = await startTestBroker({
      profiles: [
        {
          ID: 'oidc',
          ActionType: 'GenerateOrLoginUserProfile',
          ProviderName: 'SocialProvider',
          ReturnURL: 'http://dash.example.com/tap',
          IdentityHandlerConfig: { DashboardCredential: 'dash-credential-value' },
          ProviderConfig: {
            CallbackBaseURL: 'http://127.0.0.1:1',
            UseProviders: [{ Name: 'openid-connect', Key: 'broker', Secret: 'planted-client-secret', DiscoverURL: op.discoveryUrl, Scopes: ['openid', 'email'] }],
          },
        },
      ],
      config: { SessionSecret: 'planted-session-secret-0123456789', BackEnd: { Name: 'redis', IdentityBackendSettings: { Host: '127.0.0.1', Port: redis.port } } } as never,
    });
  }, 60_000);
  afterAll(async () => {
    await broker?.close();
    await op?.close();
    await redis?.stop();
  });

  it('a flow cookie sealed with the right key but of the wrong shape (another version of the broker) ends in the failure response, not a 500', async () => {
    // The flow as the running broker would seal it: under its secret, for this profile and its version.
    const { profile } = validateProfile(JSON.parse(await fs.readFile(broker.profilesPath, 'utf8'))[0], FIRST);
    const binding = { secret: 'planted-session-secret-0123456789', profileId: 'oidc', version: profileVersion(profile) };
    const state = 'planted-state-0123456789';
    const name = flowCookieName(state);
    const good = { provider: 'openid-connect', secrets: { state, nonce: 'n' } };
    for (const planted of [{}, 'text', null, [], 7, { provider: 1, secrets: good.secrets }, { provider: 'openid-connect', secrets: null }, { ...good, secrets: { state: 'other', nonce: 'n' } }, good]) {
      const cookie = `${name}=${sealFlow(binding, name, planted, Date.now() + 60_000)}`;
      const res = await fetch(`${broker.url}/auth/oidc/openid-connect/callback?state=${state}&code=c`, { headers: { cookie }, redirect: 'manual' });
      expect([planted, res.status]).toEqual([planted, 400]);
    }
    // The right shape got past the cookie, to the OP's token endpoint (which refuses the made-up code): the version matched.
    expect(broker.logs.filter((l) => l.includes('login failed') && l.includes('state, or it belongs to another browser'))).toHaveLength(8);
    expect(broker.logs.filter((l) => l.includes('login failed')).at(-1)).toMatch(/token exchange/);
  }, 30_000);
  it("the identity cache: a key of another type under our name is no record, and the next token replaces it", async () => {
    const client = await createRedisClient({ ...defaultConfig().BackEnd.IdentityBackendSettings, Host: '127.0.0.1', Port: redis.port }, { log: getLogger('TEST') });
    try {
      expect(await waitForRedis(client, 5000)).toBe(true);
      const cache = new RedisIdentityCache(client, 'tib:');
      // Our name: the user part hashed (keyed from the session secret, unset here).
      const ours = sealedKey(recordKeys(''), 'tib:', 'p', 'planted@x.com');
      await redis.cli('HSET', ours, 'a', 'b');
      expect(await cache.lookup('p', 'planted@x.com')).toEqual([]);
      expect(await cache.swap('p', 'planted@x.com', { token: 'tok-1', apiId: 'api' }, 60)).toBeUndefined();
      expect(await cache.lookup('p', 'planted@x.com')).toEqual([{ token: 'tok-1', apiId: 'api' }]);
      expect(Number(await redis.cli('TTL', ours))).toBeGreaterThan(0);
    } finally {
      await closeRedis(client);
    }
  });
});
