/**
 * Storage.storage_type "redis": profiles shared by replicas, against a real redis-server. A change made
 * through one broker's admin API is served by the other at once (pub/sub); concurrent writes from two
 * replicas all persist; an empty store is seeded from the file once; save exports to the file; invalid
 * content in Redis is rejected and logged; an outage keeps reads serving and fails writes fast, and the
 * periodic re-read catches up with what pub/sub missed.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createBroker } from '../../../src/broker.js';
import { ConfigError, defaultConfig, loadConfig } from '../../../src/config/load.js';
import { getLogger } from '../../../src/log.js';
import { loadProfilesFile } from '../../../src/profiles/file-store.js';
import type { Profile } from '../../../src/profiles/profile.js';
import { RedisProfileStore } from '../../../src/profiles/redis-store.js';
import type { StoreError } from '../../../src/profiles/store.js';
import { validateProfileList } from '../../../src/profiles/validate.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { captureLogs } from '../../support/logs.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { offlineLdapProfile } from '../../support/profiles.js';
import { TIB_RULES } from '../../support/rules.js';

const SECRET = 'profiles-redis-test-secret';
const ldap = (id: string, name = '') => offlineLdapProfile(id, { Name: name });

const validated = (id: string, name = ''): Profile => validateProfileList([ldap(id, name)], undefined, TIB_RULES).profiles[0] as Profile;

let redis: TestRedis;
let prefixCount = 0;
const open: Array<{ close(): Promise<void> | void }> = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});
afterAll(() => redis.stop());

/** Each test its own key prefix on the shared server, so tests cannot see each other's profiles. */
function nextPrefix(): string {
  return `t${++prefixCount}:`;
}

function redisConfig(prefix: string) {
  return {
    Secret: SECRET,
    Storage: { storage_type: 'redis' },
    BackEnd: { KeyPrefix: prefix, IdentityBackendSettings: { Host: '127.0.0.1', Port: redis.port, Timeout: 1 } },
  };
}

async function replica(prefix: string, profiles: unknown[] = []): Promise<TestBroker> {
  const b = await startTestBroker({ profiles, config: redisConfig(prefix) as never });
  open.push(b);
  return b;
}

const api = (b: TestBroker, method: string, id = '', body?: unknown) =>
  fetch(`${b.url}/api/profiles${id ? `/${id}` : ''}`, {
    method,
    headers: { Authorization: SECRET },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function ids(b: TestBroker): Promise<string[]> {
  const res = await api(b, 'GET');
  return ((await res.json()) as { Data: Array<{ ID: string }> }).Data.map((p) => p.ID);
}

/**
 * How long a change may take to reach the other replica: seconds, for a loaded machine, yet far below the
 * 15 s safety-net re-read, so only the pub/sub message can deliver it in time.
 */
const PUBSUB_MS = 5000;

async function poll(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function client(): Redis {
  const c = new Redis({ port: redis.port, lazyConnect: true });
  open.push({ close: () => c.disconnect() });
  return c;
}

describe('two replicas share one profile set', () => {
  it('a profile created through broker 2 is served by broker 1 at once, by pub/sub (admin API and login routes)', async () => {
    const prefix = nextPrefix();
    const b1 = await replica(prefix, [ldap('seeded')]);
    const b2 = await replica(prefix, []);
    // Broker 2 started on a populated store: it serves the seeded profile, not its own (empty) file.
    expect(await ids(b2)).toEqual(['seeded']);

    expect((await api(b2, 'POST', 'fresh', ldap('fresh'))).status).toBe(201);
    const seen = await poll(async () => (await api(b1, 'GET', 'fresh')).status === 200, PUBSUB_MS);
    expect(seen).toBe(true);
    // The runtime has it too: the login route knows the profile.
    const login = await fetch(`${b1.url}/auth/fresh/ADProvider`);
    expect(await login.text()).not.toContain('not found');

    // An update and a delete travel the same way.
    expect((await api(b1, 'PUT', 'fresh', ldap('fresh', 'renamed'))).status).toBe(200);
    expect(await poll(async () => ((await (await api(b2, 'GET', 'fresh')).json()) as { Data: { Name: string } }).Data.Name === 'renamed', PUBSUB_MS)).toBe(true);
    expect((await api(b2, 'DELETE', 'fresh')).status).toBe(200);
    expect(await poll(async () => (await api(b1, 'GET', 'fresh')).status === 404, PUBSUB_MS)).toBe(true);
  });

  it('20 pairs of concurrent writes from two replicas all persist; the same ID from both: exactly one wins', async () => {
    const prefix = nextPrefix();
    const b1 = await replica(prefix);
    const b2 = await replica(prefix);
    for (let i = 0; i < 20; i++) {
      const [r1, r2] = await Promise.all([api(b1, 'POST', `a${i}`, ldap(`a${i}`)), api(b2, 'POST', `b${i}`, ldap(`b${i}`))]);
      expect([r1.status, r2.status]).toEqual([201, 201]);
    }
    const expected = Array.from({ length: 20 }, (_, i) => [`a${i}`, `b${i}`]).flat().sort();
    expect(Object.keys(await client().hgetall(`${prefix}{profiles}`)).sort()).toEqual(expected);
    for (const b of [b1, b2]) expect(await poll(async () => JSON.stringify(await ids(b)) === JSON.stringify(expected), PUBSUB_MS)).toBe(true);

    // The same ID from both at once, neither knowing of the other's: Redis decides, exactly one wins.
    for (let i = 0; i < 10; i++) {
      const outcomes = await Promise.allSettled([b1, b2].map((b, n) => b.broker.store.create(validated(`same${i}`, `from ${n}`))));
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = outcomes.find((o) => o.status === 'rejected');
      expect(refused?.status === 'rejected' && (refused.reason as StoreError).kind).toBe('exists');
      // The refused write changed nothing: Redis holds the winner's profile.
      const winner = outcomes.find((o) => o.status === 'fulfilled');
      const stored = JSON.parse((await client().hget(`${prefix}{profiles}`, `same${i}`)) ?? '{}') as { Name: string };
      expect(winner?.status === 'fulfilled' && winner.value.Name).toBe(stored.Name);
    }
  });

  it('POST of an ID another replica created (its message not yet here) answers TIB\'s "already exists"', async () => {
    const prefix = nextPrefix();
    const b1 = await replica(prefix);
    // Written behind the replica's back, without a message: its memory does not have it.
    await client().hset(`${prefix}{profiles}`, 'taken', JSON.stringify(ldap('taken', 'first')));
    const res = await api(b1, 'POST', 'taken', ldap('taken', 'second'));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ Status: 'error', Error: 'Object ID already exists' });
    expect(JSON.parse((await client().hget(`${prefix}{profiles}`, 'taken')) ?? '{}')).toMatchObject({ Name: 'first' });
  });

  it('PUT and DELETE of a profile another replica deleted meanwhile answer "does not exist", as TIB', async () => {
    const prefix = nextPrefix();
    const b1 = await replica(prefix, [ldap('gone')]);
    // Removed behind the replica's back (and without a message): its memory still has it.
    await client().hdel(`${prefix}{profiles}`, 'gone');
    expect((await api(b1, 'PUT', 'gone', ldap('gone', 'x'))).status).toBe(404);
    expect((await api(b1, 'DELETE', 'gone')).status).toBe(404);
    expect(await client().hexists(`${prefix}{profiles}`, 'gone')).toBe(0);
  });
});

describe('profile IDs that name JavaScript object properties', () => {
  it('"__proto__" is refused by the admin API with 400 and never reaches Redis (it was a ghost: 201, then 404 everywhere)', async () => {
    const prefix = nextPrefix();
    const b = await replica(prefix, [ldap('seeded')]);
    for (const id of ['__proto__', 'constructor']) {
      const res = await api(b, 'POST', id, ldap(id));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { Error: string }).Error).toContain(`"${id}" is reserved`);
    }
    expect(Object.keys(await client().hgetall(`${prefix}{profiles}`))).toEqual(['seeded']);
    expect(await ids(b)).toEqual(['seeded']);
  });
});

describe('seeding and export', () => {
  it('an empty store is seeded from the file once; a restart with another file does not overwrite it', async () => {
    const prefix = nextPrefix();
    const first = await replica(prefix, [ldap('one'), ldap('two')]);
    expect(first.logs.join('\n')).toContain('seeded with 2 profile(s)');
    expect(first.logs.join('\n')).toContain('hot reload of profiles.json is off, SIGHUP re-reads Redis');
    await api(first, 'DELETE', 'one');
    await first.close();

    const again = await replica(prefix, [ldap('one'), ldap('other')]);
    expect(await ids(again)).toEqual(['two']);
    expect(again.logs.join('\n')).not.toContain('seeded with');
  });

  it('an emptied store stays empty after a restart (the seed marker, not emptiness, decides)', async () => {
    const prefix = nextPrefix();
    const first = await replica(prefix, [ldap('only')]);
    expect((await api(first, 'DELETE', 'only')).status).toBe(200);
    await first.close();
    expect(await ids(await replica(prefix, [ldap('only')]))).toEqual([]);
  });

  it('two replicas starting at once on an empty store seed it once', async () => {
    const prefix = nextPrefix();
    const [b1, b2] = await Promise.all([replica(prefix, [ldap('x1')]), replica(prefix, [ldap('y1')])]);
    const seeded = [b1, b2].filter((b) => b.logs.some((l) => l.includes('seeded with')));
    expect(await ids(b1)).toEqual(await ids(b2));
    expect((await ids(b1)).length).toBe(1);
    // The log lines are shared by both captures (one process): at least one replica seeded, and only one set landed.
    expect(seeded.length).toBeGreaterThan(0);
  });

  it('POST /api/profiles/save exports the Redis set to the -p file, with a backup of the old file', async () => {
    const prefix = nextPrefix();
    const b1 = await replica(prefix, [ldap('in-file')]);
    const b2 = await replica(prefix);
    expect((await api(b2, 'POST', 'added', ldap('added'))).status).toBe(201);
    expect(await poll(async () => (await ids(b1)).includes('added'), PUBSUB_MS)).toBe(true);
    expect((await api(b1, 'POST', 'save')).status).toBe(200);
    const saved = await loadProfilesFile(b1.profilesPath, undefined, TIB_RULES);
    expect(saved.problems).toEqual([]);
    expect(saved.profiles.map((p) => p.ID)).toEqual(['added', 'in-file']);
    expect((await fs.readdir(b1.dir)).some((f) => /^profiles_backup_\d+\.json$/.test(f))).toBe(true);
    // An API write does not touch the file in redis mode: only save does.
    const before = await fs.readFile(b1.profilesPath, 'utf8');
    expect((await api(b1, 'POST', 'later', ldap('later'))).status).toBe(201);
    expect(await fs.readFile(b1.profilesPath, 'utf8')).toBe(before);
  });
});

describe('what Redis holds is validated like a file', () => {
  it('invalid JSON or an invalid profile planted in Redis is rejected and logged; the last good set keeps serving', async () => {
    const prefix = nextPrefix();
    const b1 = await replica(prefix, [ldap('good')]);
    const c = client();
    await c.hset(`${prefix}{profiles}`, 'planted', '{"ID": "planted", "ProviderName": ');
    await c.publish(`${prefix}{profiles}:changed`, 'planted');
    expect(await poll(() => b1.logs.some((l) => l.includes('rejected, still serving the last good set (1 profiles)')), 2000)).toBe(true);
    expect(b1.logs.join('\n')).toMatch(/redis t\d+:\{profiles\}: profile "planted" \(#2\): /);
    expect(await ids(b1)).toEqual(['good']);

    await c.hset(`${prefix}{profiles}`, 'planted', JSON.stringify({ ...ldap('planted'), ProviderName: 'NoSuchProvider' }));
    const reload = await b1.broker.reload();
    expect(reload.ok).toBe(false);
    expect(reload.problems.join('\n')).toContain('ProviderName');
    expect(await ids(b1)).toEqual(['good']);

    // A profile whose ID is not its field name is refused too (a replica would serve it under the wrong ID).
    await c.hset(`${prefix}{profiles}`, 'planted', JSON.stringify(ldap('other-id')));
    expect((await b1.broker.reload()).problems.join('\n')).toContain('does not match its Redis hash field');

    // Fixed by hand: SIGHUP's reload adopts it.
    await c.hset(`${prefix}{profiles}`, 'planted', JSON.stringify(ldap('planted')));
    expect((await b1.broker.reload()).ok).toBe(true);
    expect(await ids(b1)).toEqual(['good', 'planted']);
  });
});

describe('a Redis outage', () => {
  it('keeps reads serving, fails writes fast with "flush failed", loses no earlier change, and resyncs after Redis returns', async () => {
    const own = await startRedis();
    open.push({ close: () => own.stop() });
    const config = { ...redisConfig('outage:'), BackEnd: { KeyPrefix: 'outage:', IdentityBackendSettings: { Host: '127.0.0.1', Port: own.port, Timeout: 1 } } };
    const b1 = await startTestBroker({ profiles: [ldap('before')], config: config as never });
    open.push(b1);
    expect((await api(b1, 'POST', 'made-before-loss', ldap('made-before-loss'))).status).toBe(201);

    await own.stop();
    const started = Date.now();
    const res = await api(b1, 'POST', 'during', ldap('during'));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ Status: 'error', Error: 'flush failed: Redis is unreachable' });
    // Coarse: no wait for Redis (Timeout is 1 s here).
    expect(Date.now() - started).toBeLessThan(2500);
    expect(await ids(b1)).toEqual(['before', 'made-before-loss']);
    expect((await api(b1, 'GET', 'before')).status).toBe(200);

    // The test server keeps no data across a restart: the replica seeds it again with its last good set.
    await own.restart();
    const c = new Redis({ port: own.port });
    open.push({ close: () => c.disconnect() });
    expect(await poll(async () => JSON.stringify(Object.keys(await c.hgetall('outage:{profiles}')).sort()) === '["before","made-before-loss"]', 20_000)).toBe(true);
    // The line is logged once the seeding answered: on a loaded machine, a moment after the hash is there.
    expect(await poll(async () => b1.logs.join('\n').includes("seeded with 2 profile(s) from this replica's last good set"), 5000)).toBe(true);
    expect(await ids(b1)).toEqual(['before', 'made-before-loss']);
    // Writes work again by themselves.
    expect(await poll(async () => (await api(b1, 'POST', 'after', ldap('after'))).status === 201, 5000)).toBe(true);
    expect(await c.hexists('outage:{profiles}', 'after')).toBe(1);
  }, 40_000);
});

describe('the periodic re-read', () => {
  it('catches up with a change whose message was never sent', async () => {
    const prefix = nextPrefix();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'profiles-redis-'));
    open.push({ close: () => fs.rm(dir, { recursive: true, force: true }) });
    const file = path.join(dir, 'profiles.json');
    await fs.writeFile(file, JSON.stringify([ldap('a')]));
    const loaded = await loadProfilesFile(file, undefined, TIB_RULES);
    const c = new Redis({ port: redis.port });
    open.push({ close: () => c.disconnect() });
    const store = new RedisProfileStore(loaded.profiles, { path: file, backupDir: dir, keep: 3, rules: TIB_RULES, redis: c, keyPrefix: prefix, log: getLogger('TEST'), timeoutMs: 1000, resyncMs: 200 });
    open.push(store);
    await store.start();
    expect(store.list().map((p) => p.ID)).toEqual(['a']);
    // HSET straight into Redis: nobody publishes.
    await client().hset(`${prefix}{profiles}`, 'b', JSON.stringify(ldap('b')));
    expect(await poll(() => store.get('b') !== undefined, 2000)).toBe(true);
  });
});

describe('--check', () => {
  it('validates the file without connecting to Redis', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'profiles-redis-'));
    open.push({ close: () => fs.rm(dir, { recursive: true, force: true }) });
    const file = path.join(dir, 'profiles.json');
    await fs.writeFile(file, JSON.stringify([ldap('a')]));
    const config = defaultConfig();
    config.Storage.storage_type = 'redis';
    config.BackEnd.KeyPrefix = 'check:';
    config.BackEnd.IdentityBackendSettings.Port = redis.port;
    const capture = captureLogs();
    const b = await createBroker({ config, profilesPath: file, check: true, strict: true, watch: false });
    await b.close();
    capture.stop();
    expect(b.store.list().map((p) => p.ID)).toEqual(['a']);
    expect(await client().exists('check:{profiles}:seeded')).toBe(0);
  });
});

describe('configuration', () => {
  it('storage_type "redis" is accepted from tib.conf and from TYK_IB_STORAGE_STORAGETYPE; other values are still refused', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'profiles-redis-'));
    open.push({ close: () => fs.rm(dir, { recursive: true, force: true }) });
    const conf = path.join(dir, 'tib.conf');
    await fs.writeFile(conf, JSON.stringify({ Storage: { storage_type: 'redis' } }));
    expect(loadConfig({ confPath: conf, env: {} }).config.Storage.storage_type).toBe('redis');
    expect(loadConfig({ confPath: conf, env: { TYK_IB_OMITCONFIGFILE: 'true', TYK_IB_STORAGE_STORAGETYPE: 'redis' } }).config.Storage.storage_type).toBe('redis');
    await fs.writeFile(conf, JSON.stringify({ Storage: { storage_type: 'etcd' } }));
    expect(() => loadConfig({ confPath: conf, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ confPath: conf, env: {} })).toThrow('Storage.storage_type: must be "file" or "redis", got "etcd"');
  });
});
