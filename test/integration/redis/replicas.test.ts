/**
 * Two replicas behind a load balancer without sticky routing (issue 9 item 2): an OpenID Connect login
 * started on replica 1 finishes on replica 2. The flow lives in the browser's sealed cookie
 * (src/state/login-flow-cookie.ts), so nothing is in Redis while the user is at the OP, and this works with
 * BackEnd "in_memory" too; with BackEnd "redis" the replay mark written after the verified callback is shared,
 * so a replay is refused on either replica.
 */
import { createHash } from 'node:crypto';
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

    // While the user is at the OP, nothing of the flow is in Redis: it is in the browser's cookie.
    const jar = new CookieJar();
    lb.served.length = 0;
    const keysBefore = await redis.cli('DBSIZE');
    const start = await fetchWithJar(`${lb.url}/auth/oidc/openid-connect`, jar);
    expect(start.status).toBe(302);
    const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
    expect(await redis.cli('DBSIZE')).toBe(keysBefore);
    const cookie = jar.header(lb.url);

    const callback = await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', callbackOf(lb.url));
    const res = await fetchWithJar(callback, jar);
    expect(lb.served).toEqual([0, 1]); // start on replica 1, callback on replica 2
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${stub.url}/tap?nonce=${stub.issuedNonces.at(-1)}`);
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(1);
    // (Every test broker captures the whole process's log lines: one.logs holds both replicas' lines.)
    expect(one.logs.some((l) => l.includes('login failed'))).toBe(false);

    // Used once: the replay mark (a hash of the state) is in Redis with the rest of the flow's life as TTL.
    const key = `tib:saml:assertion:oidc:flow:${createHash('sha256').update(state).digest('base64url')}`;
    expect(await redis.cli('EXISTS', key)).toBe('1');
    const ttl = Number(await redis.cli('TTL', key));
    expect(ttl).toBeGreaterThan(280);
    expect(ttl).toBeLessThanOrEqual(300);
    // A replay on either replica is refused: with the cleared cookie, and with the cookie the browser held.
    for (let i = 0; i < 2; i++) {
      const replay = await fetchWithJar(callback, jar);
      expect(replay.status).toBe(400);
    }
    expect(one.logs.filter((l) => /login failed.*unknown, expired or already used state/.test(l))).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const replay = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
      expect(replay.status).toBe(400);
    }
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

  it('BackEnd in_memory: the other replica opens the same sealed cookie (same TYK_IB_SESSION_SECRET), no sticky routing needed', async () => {
    const lb = await twoReplicas('memory');
    const [, two] = replicas.slice(-2) as [TestBroker, TestBroker];
    stub.reset();
    const { res } = await loginThrough(lb);
    expect(res.status).toBe(302);
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(1);
    expect(two.logs.some((l) => /login failed.*unknown, expired or already used state/.test(l))).toBe(false);
  });
});
