/**
 * Second review of issue 9: the features not already exercised on a Redis Cluster (profiles shared by
 * replicas, the identity cache), hostile values planted in the keys the broker reads, and faults.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getLogger } from '../../../src/log.js';
import { RedisIdentityCache } from '../../../src/state/identity-cache.js';
import { closeRedis, createRedisClient, waitForRedis, type RedisClient } from '../../../src/state/redis-client.js';
import { defaultConfig } from '../../../src/config/load.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { startTestOp, type TestOp } from '../../support/oidc-op.js';
import { startCluster, startRedis, startSentinel, type TestCluster, type TestRedis, type TestSentinel } from '../../support/redis.js';

const SECRET = 'redis-review-secret';
const ldap = (id: string) => ({
  ID: id,
  Name: '',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://dash.example.com/tap',
  IdentityHandlerConfig: { DashboardCredential: 'dash-credential-value' },
  ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' },
});

async function poll(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('on a three-master Redis Cluster', () => {
  let cluster: TestCluster;
  const open: TestBroker[] = [];
  let client: RedisClient | undefined;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((b) => b.close()));
    if (client) await closeRedis(client);
    await cluster?.stop();
  });

  const settings = () => ({ ...defaultConfig().BackEnd.IdentityBackendSettings, EnableCluster: true, Addrs: cluster.addrs, Timeout: 2 });

  it('a profile created through one replica\'s admin API is served by the other within a second', async () => {
    const config = { Secret: SECRET, Storage: { storage_type: 'redis' }, BackEnd: { Name: 'redis', KeyPrefix: 'c1:', IdentityBackendSettings: settings() } };
    const a = await startTestBroker({ profiles: [ldap('seed')], config: config as never });
    open.push(a);
    const b = await startTestBroker({ profiles: [], config: config as never });
    open.push(b);
    const list = async (x: TestBroker) => ((await (await fetch(`${x.url}/api/profiles`, { headers: { Authorization: SECRET } })).json()) as { Data: Array<{ ID: string }> }).Data.map((p) => p.ID);
    expect(await poll(async () => (await list(b)).includes('seed'), 3000)).toBe(true);
    const res = await fetch(`${b.url}/api/profiles/new-one`, { method: 'POST', headers: { Authorization: SECRET }, body: JSON.stringify(ldap('new-one')) });
    expect(res.status).toBe(201);
    expect(await poll(async () => (await list(a)).includes('new-one'), 1000)).toBe(true);
    expect((await fetch(`${a.url}/ready`)).status).toBe(200);
  }, 30_000);

  it('every node stopped and restarted: no unhandled rejection, and changes flow again', async () => {
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    try {
      const [a, b] = open as [TestBroker, TestBroker];
      for (let round = 0; round < 3; round++) {
        await Promise.all(cluster.nodes.map((n) => n.stop()));
        await new Promise((r) => setTimeout(r, 300));
        await Promise.all(cluster.nodes.map((n) => n.restart()));
        expect(await poll(async () => (await fetch(`${a.url}/ready`)).status === 200 && (await fetch(`${b.url}/ready`)).status === 200, 15_000)).toBe(true);
      }
      const list = async (x: TestBroker) => ((await (await fetch(`${x.url}/api/profiles`, { headers: { Authorization: SECRET } })).json()) as { Data: Array<{ ID: string }> }).Data.map((p) => p.ID);
      let created = 0;
      expect(await poll(async () => {
        const res = await fetch(`${b.url}/api/profiles/after-restart`, { method: 'POST', headers: { Authorization: SECRET }, body: JSON.stringify(ldap('after-restart')) });
        created = res.status;
        return res.status === 201 || res.status === 400;
      }, 10_000)).toBe(true);
      expect(created).toBe(201);
      expect(await poll(async () => (await list(a)).includes('after-restart'), 1000)).toBe(true);
      await new Promise((r) => setTimeout(r, 500));
      expect(rejections.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  }, 90_000);

  it('all nodes down: the replicas retry with their backoff, not in a tight loop', async () => {
    await Promise.all(cluster.nodes.map((n) => n.stop()));
    // Stand-ins on the nodes' ports count every connection attempt and drop it, as a dead node would.
    let attempts = 0;
    const standIns = await Promise.all(
      cluster.nodes.map(
        (n) =>
          new Promise<net.Server>((resolve, reject) => {
            const server = net.createServer((socket) => {
              attempts++;
              socket.destroy();
            });
            server.once('error', reject);
            server.listen(n.port, '127.0.0.1', () => resolve(server));
          }),
      ),
    );
    try {
      attempts = 0;
      await new Promise((r) => setTimeout(r, 3000));
      // Two replicas, each a cluster client and a subscriber retrying every <= 2 s over three nodes: a few
      // dozen at most. ioredis's own Cluster subscriber made thousands.
      expect(attempts).toBeLessThan(150);
    } finally {
      await Promise.all(standIns.map((s) => new Promise((r) => s.close(r))));
    }
    await Promise.all(cluster.nodes.map((n) => n.restart()));
    const [a, b] = open as [TestBroker, TestBroker];
    expect(await poll(async () => (await fetch(`${a.url}/ready`)).status === 200 && (await fetch(`${b.url}/ready`)).status === 200, 15_000)).toBe(true);
  }, 60_000);

  it('the identity cache swaps and reads records (EVAL routed by its key)', async () => {
    client = createRedisClient(settings(), { log: getLogger('TEST') });
    expect(await waitForRedis(client, 5000)).toBe(true);
    const cache = new RedisIdentityCache(client, 'c2:');
    for (let i = 0; i < 6; i++) {
      expect(await cache.swap('p', `user${i}@x.com`, { token: `t${i}`, apiId: 'api' }, 60)).toBeUndefined();
      expect(await cache.swap('p', `user${i}@x.com`, { token: `u${i}`, apiId: 'api' }, 60)).toEqual({ token: `t${i}`, apiId: 'api' });
      expect(await cache.lookup('p', `user${i}@x.com`)).toEqual([{ token: `u${i}`, apiId: 'api' }]);
    }
  }, 30_000);
});

describe('values planted in the keys the broker reads', () => {
  let redis: TestRedis;
  let op: TestOp;
  let broker: TestBroker;
  beforeAll(async () => {
    redis = await startRedis();
    op = await startTestOp({ redirectUris: ['http://127.0.0.1:1/auth/oidc/openid-connect/callback'], clients: [{ client_id: 'broker', client_secret: 'review-client-secret' }] });
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
            UseProviders: [{ Name: 'openid-connect', Key: 'broker', Secret: 'review-client-secret', DiscoverURL: op.discoveryUrl, Scopes: ['openid', 'email'] }],
          },
        },
      ],
      config: { SessionSecret: 'review-session-secret-0123456789', BackEnd: { Name: 'redis', IdentityBackendSettings: { Host: '127.0.0.1', Port: redis.port } } } as never,
    });
  }, 60_000);
  afterAll(async () => {
    await broker?.close();
    await op?.close();
    await redis?.stop();
  });

  it('a flow state of the wrong shape ends in the failure response, not a 500', async () => {
    for (const planted of ['{}', '"text"', 'null', '[]', '7', '{"binding":1,"profileId":"oidc","provider":"openid-connect"}', '{"binding":"x","secrets":null}']) {
      const jar = new CookieJar();
      const start = await fetchWithJar(`${broker.url}/auth/oidc/openid-connect`, jar);
      expect(start.status).toBe(302);
      const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
      // The right binding with damaged secrets: the shape is checked before anything is used.
      const real = JSON.parse(await redis.cli('GET', `tib:flow:social:${state}`)) as { binding: string };
      const value = planted.replace('"x"', JSON.stringify(real.binding));
      await redis.cli('SET', `tib:flow:social:${state}`, value, 'EX', '60');
      const res = await fetchWithJar(`${broker.url}/auth/oidc/openid-connect/callback?state=${state}&code=c`, jar);
      expect([planted, res.status]).toEqual([planted, 400]);
    }
  }, 30_000);
  it("the identity cache: a key of another type under our name is no record, and the next token replaces it", async () => {
    const client = createRedisClient({ ...defaultConfig().BackEnd.IdentityBackendSettings, Host: '127.0.0.1', Port: redis.port }, { log: getLogger('TEST') });
    try {
      expect(await waitForRedis(client, 5000)).toBe(true);
      const cache = new RedisIdentityCache(client, 'tib:');
      await redis.cli('HSET', 'tib:identity-cache:p:planted@x.com', 'a', 'b');
      expect(await cache.lookup('p', 'planted@x.com')).toEqual([]);
      expect(await cache.swap('p', 'planted@x.com', { token: 'tok-1', apiId: 'api' }, 60)).toBeUndefined();
      expect(await cache.lookup('p', 'planted@x.com')).toEqual([{ token: 'tok-1', apiId: 'api' }]);
      expect(Number(await redis.cli('TTL', 'tib:identity-cache:p:planted@x.com'))).toBeGreaterThan(0);
    } finally {
      await closeRedis(client);
    }
  });
});

describe('profiles shared through a Sentinel', () => {
  let master: TestRedis;
  let sentinel: TestSentinel;
  const open: TestBroker[] = [];
  beforeAll(async () => {
    master = await startRedis({ password: 'review-master-password' });
    sentinel = await startSentinel({ master, masterPassword: 'review-master-password' });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((b) => b.close()));
    await sentinel?.stop();
    await master?.stop();
  });

  it('a change is served by the other replica within a second, before and after the master restarts three times, with no unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    try {
      const settings = { MasterName: sentinel.masterName, Addrs: [`127.0.0.1:${sentinel.port}`], Password: 'review-master-password', Timeout: 1 };
      const config = { Secret: SECRET, Storage: { storage_type: 'redis' }, BackEnd: { Name: 'redis', IdentityBackendSettings: settings } };
      const a = await startTestBroker({ profiles: [ldap('seed')], config: config as never });
      open.push(a);
      const b = await startTestBroker({ profiles: [], config: config as never });
      open.push(b);
      const list = async (x: TestBroker) => ((await (await fetch(`${x.url}/api/profiles`, { headers: { Authorization: SECRET } })).json()) as { Data: Array<{ ID: string }> }).Data.map((p) => p.ID);
      const create = async (id: string) => (await fetch(`${b.url}/api/profiles/${id}`, { method: 'POST', headers: { Authorization: SECRET }, body: JSON.stringify(ldap(id)) })).status;
      expect(await poll(async () => (await list(b)).includes('seed'), 3000)).toBe(true);
      expect(await create('before')).toBe(201);
      expect(await poll(async () => (await list(a)).includes('before'), 1000)).toBe(true);
      for (let i = 0; i < 3; i++) {
        await master.stop();
        await new Promise((r) => setTimeout(r, 300));
        await master.restart();
      }
      expect(await poll(async () => (await fetch(`${a.url}/ready`)).status === 200 && (await fetch(`${b.url}/ready`)).status === 200, 15_000)).toBe(true);
      let status = 0;
      expect(await poll(async () => (status = await create('after')) !== 503 && status !== 500, 10_000)).toBe(true);
      expect(status).toBe(201);
      expect(await poll(async () => (await list(a)).includes('after'), 1000)).toBe(true);
      expect((await list(a)).includes('before')).toBe(true);
      expect(rejections.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  }, 60_000);
});
