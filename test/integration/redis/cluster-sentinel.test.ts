/**
 * Redis topologies other than one server: on a three-master Cluster, profiles shared by replicas (nodes
 * stopped and restarted, all down) and the identity cache; through a Sentinel, profiles shared across master
 * restarts.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getLogger } from '../../../src/log.js';
import { RedisIdentityCache } from '../../../src/state/identity-cache.js';
import { closeRedis, createRedisClient, waitForRedis, type RedisClient } from '../../../src/state/redis-client.js';
import { defaultConfig } from '../../../src/config/load.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startCluster, startRedis, startSentinel, type TestCluster, type TestRedis, type TestSentinel } from '../../support/redis.js';
import { offlineLdapProfile } from '../../support/profiles.js';

const SECRET = 'redis-topologies-secret';
const ldap = (id: string) => offlineLdapProfile(id, { Name: '' });

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

  it('a profile created through one replica\'s admin API is served by the other at once (pub/sub)', async () => {
    const config = { Secret: SECRET, Storage: { storage_type: 'redis' }, BackEnd: { Name: 'redis', KeyPrefix: 'c1:', IdentityBackendSettings: settings() } };
    const a = await startTestBroker({ profiles: [ldap('seed')], config: config as never });
    open.push(a);
    const b = await startTestBroker({ profiles: [], config: config as never });
    open.push(b);
    const list = async (x: TestBroker) => ((await (await fetch(`${x.url}/api/profiles`, { headers: { Authorization: SECRET } })).json()) as { Data: Array<{ ID: string }> }).Data.map((p) => p.ID);
    expect(await poll(async () => (await list(b)).includes('seed'), 3000)).toBe(true);
    const res = await fetch(`${b.url}/api/profiles/new-one`, { method: 'POST', headers: { Authorization: SECRET }, body: JSON.stringify(ldap('new-one')) });
    expect(res.status).toBe(201);
    expect(await poll(async () => (await list(a)).includes('new-one'), PUBSUB_MS)).toBe(true);
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
      // Right after the restart a save may still fail (a 5xx) after its write reached Redis: the retry then
      // finds the profile there (400, it exists). Either way the profile must be saved, and only once.
      const statuses: number[] = [];
      expect(await poll(async () => {
        const res = await fetch(`${b.url}/api/profiles/after-restart`, { method: 'POST', headers: { Authorization: SECRET }, body: JSON.stringify(ldap('after-restart')) });
        statuses.push(res.status);
        return res.status === 201 || (res.status === 400 && (await list(b)).includes('after-restart'));
      }, 10_000)).toBe(true);
      // A 400 only after an attempt that failed on the server side, never as the first answer.
      if (statuses.at(-1) === 400) expect(statuses.slice(0, -1).some((st) => st >= 500)).toBe(true);
      expect(await poll(async () => (await list(a)).includes('after-restart'), PUBSUB_MS)).toBe(true);
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
    client = await createRedisClient(settings(), { log: getLogger('TEST') });
    expect(await waitForRedis(client, 5000)).toBe(true);
    const cache = new RedisIdentityCache(client, 'c2:');
    for (let i = 0; i < 6; i++) {
      expect(await cache.swap('p', `user${i}@x.com`, { token: `t${i}`, apiId: 'api' }, 60)).toBeUndefined();
      expect(await cache.swap('p', `user${i}@x.com`, { token: `u${i}`, apiId: 'api' }, 60)).toEqual({ token: `t${i}`, apiId: 'api' });
      expect(await cache.lookup('p', `user${i}@x.com`)).toEqual([{ token: `u${i}`, apiId: 'api' }]);
    }
  }, 30_000);
});

describe('profiles shared through a Sentinel', () => {
  let master: TestRedis;
  let sentinel: TestSentinel;
  const open: TestBroker[] = [];
  beforeAll(async () => {
    master = await startRedis({ password: 'sentinel-master-password' });
    sentinel = await startSentinel({ master, masterPassword: 'sentinel-master-password' });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((b) => b.close()));
    await sentinel?.stop();
    await master?.stop();
  });

  it('a change is served by the other replica at once (pub/sub), before and after the master restarts three times, with no unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    try {
      const settings = { MasterName: sentinel.masterName, Addrs: [`127.0.0.1:${sentinel.port}`], Password: 'sentinel-master-password', Timeout: 1 };
      const config = { Secret: SECRET, Storage: { storage_type: 'redis' }, BackEnd: { Name: 'redis', IdentityBackendSettings: settings } };
      const a = await startTestBroker({ profiles: [ldap('seed')], config: config as never });
      open.push(a);
      const b = await startTestBroker({ profiles: [], config: config as never });
      open.push(b);
      const list = async (x: TestBroker) => ((await (await fetch(`${x.url}/api/profiles`, { headers: { Authorization: SECRET } })).json()) as { Data: Array<{ ID: string }> }).Data.map((p) => p.ID);
      const create = async (id: string) => (await fetch(`${b.url}/api/profiles/${id}`, { method: 'POST', headers: { Authorization: SECRET }, body: JSON.stringify(ldap(id)) })).status;
      expect(await poll(async () => (await list(b)).includes('seed'), 3000)).toBe(true);
      expect(await create('before')).toBe(201);
      expect(await poll(async () => (await list(a)).includes('before'), PUBSUB_MS)).toBe(true);
      for (let i = 0; i < 3; i++) {
        await master.stop();
        await new Promise((r) => setTimeout(r, 300));
        await master.restart();
      }
      expect(await poll(async () => (await fetch(`${a.url}/ready`)).status === 200 && (await fetch(`${b.url}/ready`)).status === 200, 15_000)).toBe(true);
      let status = 0;
      expect(await poll(async () => (status = await create('after')) !== 503 && status !== 500, 10_000)).toBe(true);
      expect(status).toBe(201);
      expect(await poll(async () => (await list(a)).includes('after'), PUBSUB_MS)).toBe(true);
      expect((await list(a)).includes('before')).toBe(true);
      expect(rejections.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  }, 60_000);
});
