/**
 * Two replicas behind a load balancer without sticky routing (issue 9 item 2): an OpenID Connect login
 * started on replica 1 finishes on replica 2 when BackEnd is "redis" (the flow state lives in Redis, with a
 * TTL, used once); with BackEnd "in_memory" the same login fails with "unknown, expired or already used
 * state", which is what a new user of two replicas met before.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-replica-tests';
const CLIENT_SECRET = 'oidc-client-secret-for-replica-tests';
const SESSION_SECRET = 'session-secret-shared-by-both-replicas-0123';
const REDIS_PASSWORD = 'redis-password-of-the-replica-tests';

/** A load balancer that sends each request to the next replica in turn (no stickiness); remembers which. */
interface RoundRobin {
  url: string;
  served: number[];
  close(): Promise<void>;
}

async function roundRobin(port: number, targets: string[]): Promise<RoundRobin> {
  const served: number[] = [];
  let next = 0;
  const server = http.createServer((req, res) => {
    const i = next++ % targets.length;
    served.push(i);
    const target = new URL(req.url ?? '/', targets[i]);
    const upstream = http.request(target, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let redis: TestRedis;
let stub: TykStub;
let op: TestOp;
const lbPorts: Record<'redis' | 'memory', number> = { redis: 0, memory: 0 };
const replicas: TestBroker[] = [];
const lbs: Partial<Record<'redis' | 'memory', RoundRobin>> = {};

const callbackOf = (lb: string) => `${lb}/auth/oidc/openid-connect/callback`;

function profile(lb: string) {
  return oidcProfile({ id: 'oidc', discoveryUrl: op.discoveryUrl, callbackBase: lb, returnUrl: `${stub.url}/tap`, credential: CRED, key: 'broker', secret: CLIENT_SECRET });
}

/** Two replicas with the same profiles and session secret, behind one round-robin balancer. */
async function twoReplicas(kind: 'redis' | 'memory'): Promise<RoundRobin> {
  const lb = `http://127.0.0.1:${lbPorts[kind]}`;
  const backEnd =
    kind === 'redis'
      ? { Name: 'redis' as const, IdentityBackendSettings: { Addrs: [`127.0.0.1:${redis.port}`], Password: REDIS_PASSWORD } }
      : { Name: 'in_memory' as const };
  const pair: TestBroker[] = [];
  for (let i = 0; i < 2; i++) {
    pair.push(
      await startTestBroker({
        profiles: [profile(lb)],
        config: { SessionSecret: SESSION_SECRET, BackEnd: backEnd, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port } } },
      }),
    );
  }
  replicas.push(...pair);
  const balancer = await roundRobin(lbPorts[kind], pair.map((b) => b.url));
  lbs[kind] = balancer;
  return balancer;
}

/** A browser: login start (replica 1), the OP, then the callback (replica 2). */
async function loginThrough(lb: RoundRobin) {
  const jar = new CookieJar();
  lb.served.length = 0;
  const start = await fetchWithJar(`${lb.url}/auth/oidc/openid-connect`, jar);
  expect(start.status).toBe(302);
  const callback = await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', callbackOf(lb.url));
  const res = await fetchWithJar(callback, jar);
  expect(lb.served).toEqual([0, 1]);
  return { res, state: new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '' };
}

beforeAll(async () => {
  lbPorts.redis = await freePort();
  lbPorts.memory = await freePort();
  redis = await startRedis({ password: REDIS_PASSWORD });
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: 'admin-secret-replicas' });
  op = await startTestOp({
    redirectUris: [callbackOf(`http://127.0.0.1:${lbPorts.redis}`), callbackOf(`http://127.0.0.1:${lbPorts.memory}`)],
    clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET }],
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(Object.values(lbs).map((lb) => lb.close()));
  await Promise.all(replicas.map((b) => b.close()));
  await op?.close();
  await stub?.close();
  await redis?.stop();
});

describe('an OpenID Connect login across two replicas', () => {
  it('BackEnd redis: started on replica 1, finished on replica 2', async () => {
    const lb = await twoReplicas('redis');
    const [one] = replicas.slice(-2) as [TestBroker, TestBroker];
    stub.reset();

    // While the user is at the OP, the flow is in Redis under the prefix, with the LoginTimeout TTL.
    const jar = new CookieJar();
    lb.served.length = 0;
    const start = await fetchWithJar(`${lb.url}/auth/oidc/openid-connect`, jar);
    expect(start.status).toBe(302);
    const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const key = `tib:flow:social:${state}`;
    expect(await redis.cli('EXISTS', key)).toBe('1');
    const ttl = Number(await redis.cli('TTL', key));
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);

    const callback = await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', callbackOf(lb.url));
    const res = await fetchWithJar(callback, jar);
    expect(lb.served).toEqual([0, 1]); // start on replica 1, callback on replica 2
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${stub.url}/tap?nonce=${stub.issuedNonces.at(-1)}`);
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(1);
    // (Every test broker captures the whole process's log lines: one.logs holds both replicas' lines.)
    expect(one.logs.some((l) => l.includes('login failed'))).toBe(false);

    // Used once: gone from Redis, and a replay on either replica is refused.
    expect(await redis.cli('EXISTS', key)).toBe('0');
    for (let i = 0; i < 2; i++) {
      const replay = await fetchWithJar(callback, jar);
      expect(replay.status).toBe(400);
    }
    expect(one.logs.filter((l) => /login failed.*unknown, expired or already used state/.test(l))).toHaveLength(2);
  });

  it('login after login, each from its own browser, each finishes on the other replica', async () => {
    const lb = lbs.redis!;
    stub.reset();
    for (let i = 0; i < 3; i++) {
      const { res } = await loginThrough(lb);
      expect(res.status).toBe(302);
    }
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(3);
  });

  it('BackEnd in_memory (the proof the test can fail): the other replica does not know the state', async () => {
    const lb = await twoReplicas('memory');
    const [, two] = replicas.slice(-2) as [TestBroker, TestBroker];
    stub.reset();
    const { res } = await loginThrough(lb);
    expect(res.status).toBe(400);
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(0);
    expect(two.logs.some((l) => /login failed.*unknown, expired or already used state/.test(l))).toBe(true);
  });
});
