/**
 * /ready when Redis answers PING but refuses writes (issue 17, finding 1: with `noeviction` at maxmemory every
 * social and SAML start and every admin write failed with OOM while /ready said ok). Against a real
 * redis-server: /ready writes one key per replica (`<KeyPrefix>ready:<replica id>`, short PX), its answer
 * reused for a second; full with noeviction it answers 503 naming OOM, and 200 again once memory is freed;
 * a Redis user without write rights on the broker's keys gives 503 naming NOPERM. /health stays 200.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { offlineLdapProfile } from '../../support/profiles.js';
import { startRedis, type TestRedis } from '../../support/redis.js';

const PASSWORD = 'redis-acl-user-password-for-ready';

let redis: TestRedis;
let raw: Redis;
let broker: TestBroker;
const open: TestBroker[] = [];

const backEnd = (user = '') => ({ Name: 'redis' as const, KeyPrefix: 'tib:', IdentityBackendSettings: { Host: redis.host, Port: redis.port, Username: user, Password: user ? PASSWORD : '' } });

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await raw.connect();
  broker = await startTestBroker({ profiles: [offlineLdapProfile('ldap')], config: { BackEnd: backEnd() } });
  open.push(broker);
}, 60_000);

afterAll(async () => {
  await Promise.all(open.map((b) => b.close()));
  raw?.disconnect();
  await redis?.stop();
});

const ready = async (b: TestBroker = broker) => {
  const res = await fetch(`${b.url}/ready`);
  return { status: res.status, body: await res.text() };
};

/** Polls /ready until it answers `status` (the probe's answer is reused for a second). */
async function readyBecomes(status: number, b: TestBroker = broker, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await ready(b);
    if (r.status === status || Date.now() > end) return r;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const setCalls = async () => Number(/cmdstat_set:calls=(\d+)/.exec(await raw.info('commandstats'))?.[1] ?? 0);

describe('/ready writes to Redis', () => {
  it('one key per replica with a short expiry, and a flood of /ready costs about one SET a second', async () => {
    expect((await ready()).status).toBe(200);
    const keys = await raw.keys('tib:ready:*');
    expect(keys).toHaveLength(1);
    const ttl = await raw.pttl(keys[0] as string);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5000);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = await setCalls();
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 50 }, () => ready()));
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // At most one SET per second the 50 took (one, or two if they straddled a second, on an idle machine; a
    // loaded one may stretch them over more seconds), never one per call.
    const sets = (await setCalls()) - before;
    expect(sets).toBeGreaterThanOrEqual(1);
    expect(sets).toBeLessThanOrEqual(Math.min(seconds + 1, 49));
    expect(await raw.keys('tib:ready:*')).toEqual(keys);
  });

  it('Redis full with noeviction: 503 naming OOM while PING answers, /health 200; freed: 200 again', async () => {
    const used = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))?.[1]);
    await raw.config('SET', 'maxmemory-policy', 'noeviction');
    await raw.config('SET', 'maxmemory', String(used + 512 * 1024));
    const filler: string[] = [];
    try {
      // Fill with ever smaller values until Redis refuses even a tiny write (a big one is refused for its own
      // request buffer while a small one still fits).
      let n = 0;
      for (const size of [16 * 1024, 1024, 64]) {
        for (let ok = true; ok && n < 20_000; n++) {
          filler.push(`filler:${n}`);
          ok = await raw.set(`filler:${n}`, 'x'.repeat(size)).then(
            () => true,
            () => false,
          );
        }
      }
      const refusal = await raw.set('tiny', '1', 'PX', 1000).then(
        () => '',
        (err: Error) => err.message,
      );
      expect(refusal).toMatch(/^OOM/);
      expect(await raw.ping()).toBe('PONG');

      const full = await readyBecomes(503);
      expect(full.status).toBe(503);
      expect(full.body).toContain('Redis refuses writes: OOM');
      expect(full.body).toContain('maxmemory');
      expect((await fetch(`${broker.url}/health`)).status).toBe(200);

      await raw.del(...filler);
      filler.length = 0;
      expect((await readyBecomes(200)).status).toBe(200);
    } finally {
      if (filler.length > 0) await raw.del(...filler);
      await raw.config('SET', 'maxmemory', '0');
    }
  });

  it('a Redis user without write rights on the keys: 503 naming NOPERM and the keys, /health 200', async () => {
    // Redis 7 key permissions: this user may read the broker's keys but not write them.
    await redis.cli('ACL', 'SETUSER', 'reader', 'on', `>${PASSWORD}`, '%R~tib:*', '&*', '+@all');
    const b = await startTestBroker({ profiles: [offlineLdapProfile('ldap')], config: { BackEnd: backEnd('reader') } });
    open.push(b);
    const r = await readyBecomes(503, b);
    expect(r.status).toBe(503);
    expect(r.body).toContain('Redis refuses writes: NOPERM');
    expect(r.body).toContain('~tib:*');
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
    // The replica that can write is still ready, with its own single key.
    expect((await ready()).status).toBe(200);
    expect(await raw.keys('tib:ready:*')).toHaveLength(1);
  });
});
