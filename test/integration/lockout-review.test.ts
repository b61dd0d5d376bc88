/**
 * Review of the brute-force lockout (issue 9 item 7): spellings of a username that the directory (a real
 * slapd) accepts as the same user must share its counter, or an attacker gets a fresh budget per spelling.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { usernameKey } from '../../src/login/brute-force.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { serviceAccountSearch, startSlapd, type Slapd } from '../support/slapd.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const CRED = 'dashboard-credential-lockout-review';
let slapd: Slapd;
let stub: TykStub;
let b: TestBroker;

const profile = (id: string, UsernameLimit: number) => ({
  ID: id,
  OrgID: 'org-1',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'ADProvider',
  ReturnURL: `${stub.url}/tap`,
  IdentityHandlerConfig: { DashboardCredential: CRED },
  ProviderConfig: { ...serviceAccountSearch(slapd), BruteForce: { UsernameLimit, IPLimit: 0, WindowSeconds: 60, BlockSeconds: 60 } },
});

beforeAll(async () => {
  [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: 'admin-lockout-review' })]);
  b = await startTestBroker({
    profiles: [profile('open', 1000), profile('spaces', 3), profile('dotted', 3)],
    config: { TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'admin-lockout-review' } } },
  });
}, 60_000);
afterAll(async () => {
  await b?.close();
  await Promise.all([stub?.close(), slapd?.stop()]);
});

async function attempt(id: string, username: string, password: string) {
  const before = await slapd.binds();
  const res = await request(b.url).post(`/auth/${id}/ldap`).type('form').send({ username, password });
  return { status: res.status, binds: (await slapd.binds()) - before };
}

describe('spellings the directory treats as one user share one counter', () => {
  it('the directory does accept them (inner runs of spaces, a dotted capital I)', async () => {
    expect((await attempt('open', 'zoë    müller', 'zoe-pass')).status).toBe(302);
    expect((await attempt('open', 'ALİCE', 'alice-pass')).status).toBe(302);
  });

  it('inner runs of spaces: refused without a bind once the username is locked', async () => {
    for (let i = 0; i < 3; i++) expect((await attempt('spaces', 'Zoë Müller', `wrong-${i}`)).status).toBe(401);
    for (const spelling of ['zoë  müller', 'Zoë\u00a0\u00a0 Müller', 'zoë\u3000müller']) {
      expect([spelling, await attempt('spaces', spelling, 'zoe-pass')]).toEqual([spelling, { status: 401, binds: 0 }]);
    }
  });

  it('a dotted capital I: refused without a bind once the username is locked', async () => {
    for (let i = 0; i < 3; i++) expect((await attempt('dotted', 'alice', `wrong-${i}`)).status).toBe(401);
    expect(await attempt('dotted', 'ALİCE', 'alice-pass')).toEqual({ status: 401, binds: 0 });
  });

  it('characters directories map to nothing (RFC 4518 2.2) do not make a new counter', () => {
    for (const c of ['\u00ad', '\u034f', '\u200b', '\u200d', '\u2060', '\ufe0f', '\ufeff']) expect(usernameKey(`ali${c}ce`)).toBe(usernameKey('alice'));
    expect(usernameKey('zoë müller')).not.toBe(usernameKey('zoëmüller'));
  });
});

describe('a hung Redis (it accepts, never answers) under the lockout counters', () => {
  let redis: TestRedis;
  let onRedis: TestBroker;
  beforeAll(async () => {
    redis = await startRedis();
    onRedis = await startTestBroker({
      profiles: [profile('hung', 5)],
      config: {
        BruteForce: { UsernameLimit: 5, IPLimit: 50, WindowSeconds: 60, BlockSeconds: 60 },
        BackEnd: { Name: 'redis', IdentityBackendSettings: { Host: '127.0.0.1', Port: redis.port, Timeout: 1 } },
        TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'admin-lockout-review' } },
      },
    });
  }, 60_000);
  afterAll(async () => {
    redis?.resume();
    await onRedis?.close();
    await redis?.stop();
  });

  it('a login waits out Timeout once, not once per counter and per update (coarse bound: 1 s Timeout, logins under 1.6 s)', async () => {
    expect((await request(onRedis.url).post('/auth/hung/ldap').type('form').send({ username: 'bob', password: 'bob-pass' })).status).toBe(302);
    redis.pause();
    try {
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        const res = await request(onRedis.url).post('/auth/hung/ldap').type('form').send({ username: 'bob', password: 'bob-pass' });
        const took = Date.now() - t0;
        expect([i, res.status]).toEqual([i, 302]);
        expect([i, took]).toEqual([i, expect.any(Number)]);
        expect(took).toBeLessThan(1600);
      }
    } finally {
      redis.resume();
    }
  }, 30_000);
});
