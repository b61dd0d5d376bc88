/**
 * The logins kept for logout on Redis (src/state/login-sessions.ts), against a real redis-server: shared by
 * two stores (replicas), sealed (Redis holds no id token, subject or cookie id in clear), index sets keyed by an
 * HMAC, a login dropped once across replicas, TTLs set.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisLoginSessions, type LoginSession } from '../../../src/state/login-sessions.js';
import { startRedis, type TestRedis } from '../../support/redis.js';

const SECRET = 'session-secret-of-the-login-session-tests-0123';
let server: TestRedis;
let a: Redis;
let b: Redis;

beforeAll(async () => {
  server = await startRedis();
  a = new Redis({ host: server.host, port: server.port, lazyConnect: false });
  b = new Redis({ host: server.host, port: server.port, lazyConnect: false });
});
afterAll(async () => {
  a.disconnect();
  b.disconnect();
  await server.stop();
});

const session = (over: Partial<LoginSession> = {}): LoginSession => ({
  segment: 'openid-connect',
  idToken: 'eyJhbGciOi.secret-id-token-body.sig',
  sub: 'alice-subject',
  sid: 'op-session-1',
  expiresAt: Date.now() + 60_000,
  profile: 'oidc',
  userId: 'alice-subject',
  createdAt: Date.now(),
  ...over,
});

describe('RedisLoginSessions', () => {
  it('one replica keeps a login, the other finds and drops it, once; Redis holds nothing in clear', async () => {
    const one = new RedisLoginSessions(a, 'tib-', SECRET);
    const two = new RedisLoginSessions(b, 'tib-', SECRET);
    const id = await one.put(session(), 60_000);
    expect(await two.get('oidc', id)).toMatchObject({ idToken: 'eyJhbGciOi.secret-id-token-body.sig', sid: 'op-session-1' });
    expect(await two.get('other', id)).toBeUndefined();
    const keys = await a.keys('*');
    expect(keys.sort().map((k) => k.replace(/:.*/, ':'))).toEqual(['tib-login-session-sid:', 'tib-login-session-sub:', 'tib-login-session:']);
    for (const k of keys) {
      expect(k).not.toContain(id);
      expect(k).not.toContain('alice');
      const ttl = await a.pttl(k);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    const dump = (await Promise.all(keys.map(async (k) => ((await a.type(k)) === 'set' ? (await a.smembers(k)).join() : ((await a.get(k)) ?? ''))))).join('\n');
    expect(dump).not.toMatch(/alice|secret-id-token|op-session/);
    const [first, second] = await Promise.all([one.drop('oidc', id), two.drop('oidc', id)]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect(await a.keys('tib-login-session:*')).toEqual([]);
    expect(await a.smembers(keys.find((k) => k.includes('-sub:')) as string)).toEqual([]);
  });

  it('another secret opens nothing', async () => {
    const id = await new RedisLoginSessions(a, 'tib2-', SECRET).put(session(), 60_000);
    expect(await new RedisLoginSessions(b, 'tib2-', 'another-session-secret-0123456789').get('oidc', id)).toBeUndefined();
  });

  it('dropMatching by sid or sub, across replicas, only what matches', async () => {
    const one = new RedisLoginSessions(a, 'tib3-', SECRET);
    const two = new RedisLoginSessions(b, 'tib3-', SECRET);
    const s1 = await one.put(session(), 60_000);
    const s2 = await one.put(session({ sid: 'op-session-2' }), 60_000);
    const bob = await one.put(session({ sub: 'bob', userId: 'bob', sid: 'op-session-3' }), 60_000);
    expect(await two.dropMatching('oidc', {})).toEqual([]);
    expect(await two.dropMatching('oidc', { sub: 'bob', sid: 'op-session-1' })).toEqual([]);
    expect((await two.dropMatching('oidc', { sid: 'op-session-2' })).map((s) => s.sid)).toEqual(['op-session-2']);
    expect(await one.get('oidc', s2)).toBeUndefined();
    expect((await two.dropMatching('oidc', { sub: 'alice-subject' })).map((s) => s.sid)).toEqual(['op-session-1']);
    expect(await one.get('oidc', s1)).toBeUndefined();
    expect(await one.get('oidc', bob)).toMatchObject({ sub: 'bob' });
    expect(await two.dropMatching('other', { sub: 'bob' })).toEqual([]);
  });
});
