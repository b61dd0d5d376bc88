/**
 * Review of the brute-force lockout (issue 9 item 7): spellings of a username that the directory (a real
 * slapd) accepts as the same user must share its counter, or an attacker gets a fresh budget per spelling.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ipCounterKey } from '../../../src/client-ip.js';
import { usernameKey } from '../../../src/state/brute-force.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { ldapProfile, serviceAccountSearch, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-lockout-review';
let slapd: Slapd;
let stub: TykStub;
let b: TestBroker;

const profile = (id: string, UsernameLimit: number) =>
  ldapProfile(slapd, { id, returnUrl: `${stub.url}/tap`, credential: CRED, providerConfig: { BruteForce: { UsernameLimit, IPLimit: 0, WindowSeconds: 60, BlockSeconds: 60 } } });

beforeAll(async () => {
  [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: 'admin-lockout-review' })]);
  b = await startTestBroker({
    profiles: [profile('open', 1000), profile('spaces', 3), profile('dotted', 3), { ...profile('v6', 0), ProviderConfig: { ...serviceAccountSearch(slapd), BruteForce: { UsernameLimit: 0, IPLimit: 3, WindowSeconds: 60, BlockSeconds: 60 } } }],
    config: {
      TrustedProxies: ['127.0.0.1'], TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'admin-lockout-review' } } },
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

describe('the IP limit and IPv6', () => {
  it('addresses of one IPv6 /64 share one counter: the 4th attempt from a new address of it is refused without a bind', async () => {
    const from = async (xff: string, username: string, password: string) => {
      const before = await slapd.binds();
      const res = await request(b.url).post('/auth/v6/ldap').set('X-Forwarded-For', xff).type('form').send({ username, password });
      return { status: res.status, binds: (await slapd.binds()) - before };
    };
    for (const [i, addr] of ['2001:db8:1:2::a', '2001:db8:1:2::b', '2001:db8:1:2:0:0:0:c'].entries()) expect((await from(addr, 'alice', `wrong-${i}`)).status).toBe(401);
    expect(await from('2001:db8:1:2:ffff:1:2:3', 'alice', 'alice-pass')).toEqual({ status: 401, binds: 0 });
    // Another /64 has its own budget; IPv4 clients are still counted one address each.
    expect((await from('2001:db8:1:3::1', 'alice', 'alice-pass')).status).toBe(302);
  });

  it('the counter key: IPv4 as is, IPv6 as its /64 whatever the spelling', () => {
    expect(ipCounterKey('192.0.2.7')).toBe('192.0.2.7');
    expect(ipCounterKey('2001:db8:1:2::a')).toBe('2001:db8:1:2::/64');
    expect(ipCounterKey('2001:0db8:0001:0002:ffff:0:0:1')).toBe('2001:db8:1:2::/64');
    expect(ipCounterKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipCounterKey('::1')).toBe('0:0:0:0::/64');
    expect(ipCounterKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(ipCounterKey('fe80:1:2:3:4:5:6:7')).toBe('fe80:1:2:3::/64');
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
