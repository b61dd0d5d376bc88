/**
 * `npm run bench`: what the broker costs over doing the same work directly, as ratios measured in one run
 * on this machine (no absolute targets, no assertions). Real servers on loopback, started here: slapd, the
 * recording Tyk stub, an OpenID Provider. Every loop is bounded in count.
 *  - health: GET /health through the broker vs a bare node:http server answering 200.
 *  - ldap login: a form POST through the broker (pooled service search, user bind and revert, /api/sso,
 *    302) vs the same LDAP operations with ldapts on a kept connection plus the same /api/sso call.
 *  - oidc login: start, sign-in at the OP and callback through the broker vs the same code flow with
 *    openid-client (discovery cached, PKCE, state, nonce, token, userinfo) plus the /api/sso call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'ldapts';
import * as client from 'openid-client';
import { startTestBroker, type TestBroker } from '../test/support/broker.js';
import { CookieJar, fetchWithJar } from '../test/support/cookie-jar.js';
import { loginAtOp, startTestOp, type TestOp } from '../test/support/oidc-op.js';
import { freePort, SERVICE_DN, SERVICE_PW, serviceAccountSearch, startSlapd, SUFFIX, type Slapd } from '../test/support/slapd.js';
import { startTykStub, type TykStub } from '../test/support/tyk-stub.js';

const CRED = 'bench-dashboard-credential';
const CLIENT_SECRET = 'bench-client-secret';
const USERS = [
  { uid: 'alice', password: 'alice-pass' },
  { uid: 'bob', password: 'bob-pass' },
  { uid: 'carol', password: 'carol-pass' },
];

interface Result {
  perSecond: number;
  p50: number;
  p99: number;
}

/** Runs `count` operations, `concurrency` at a time, after a short warm-up; latencies in ms. */
async function measure(count: number, concurrency: number, op: (i: number, worker: number) => Promise<void>): Promise<Result> {
  for (let i = 0; i < Math.min(20, count); i++) await op(i, 0);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        await op(i, worker);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { perSecond: count / seconds, p50: at(0.5), p99: at(0.99) };
}

function expectStatus(res: Response, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}`);
}

const ssoBody = (email: string) =>
  JSON.stringify({ ForSection: 'portal', OrgID: 'bench', EmailAddress: email, DisplayName: email, GroupID: '', GroupsIDs: [], SSOOnlyForRegisteredUsers: false });

async function directSso(stub: TykStub, email: string): Promise<void> {
  const res = await fetch(`${stub.url}/api/sso`, { method: 'POST', headers: { Authorization: CRED }, body: ssoBody(email) });
  expectStatus(res, 200, 'direct /api/sso');
  await res.arrayBuffer();
}

async function bareServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The direct LDAP login: what the broker does per login, on one connection kept by this worker. */
function directLdap(slapd: Slapd) {
  const clients = new Map<number, Client>();
  return async (worker: number, uid: string, password: string) => {
    let c = clients.get(worker);
    if (!c) {
      c = new Client({ url: slapd.url, timeout: 5000 });
      await c.bind(SERVICE_DN, SERVICE_PW);
      clients.set(worker, c);
    }
    const { searchEntries } = await c.search(`ou=people,${SUFFIX}`, { scope: 'sub', filter: `(&(objectClass=inetOrgPerson)(uid=${uid}))`, attributes: ['mail', 'givenName', 'sn', 'memberOf'] });
    const entry = searchEntries[0];
    if (!entry) throw new Error(`no entry for ${uid}`);
    await c.bind(entry.dn, password);
    await c.bind(SERVICE_DN, SERVICE_PW);
    return { email: String(entry.mail), close: () => Promise.all([...clients.values()].map((x) => x.unbind())) };
  };
}

function row(name: string, broker: Result, direct: Result): string {
  const cells = [name, broker.perSecond.toFixed(0), direct.perSecond.toFixed(0), (broker.perSecond / direct.perSecond).toFixed(2), broker.p50.toFixed(1), direct.p50.toFixed(1), broker.p99.toFixed(1), direct.p99.toFixed(1)];
  return `| ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const [slapd, stub, bare] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: 'bench-admin' }), bareServer()]);
  const directCallback = `${base}/direct/callback`;
  const op: TestOp = await startTestOp({ redirectUris: [`${base}/auth/bench-oidc/openid-connect/callback`, directCallback], clients: [{ client_id: 'bench', client_secret: CLIENT_SECRET }] });
  const common = { OrgID: 'bench', ActionType: 'GenerateOrLoginUserProfile', ReturnURL: `${stub.url}/tap`, IdentityHandlerConfig: { DashboardCredential: CRED } };
  const broker: TestBroker = await startTestBroker({
    port,
    config: { SessionSecret: 'bench-session-secret-0123456789abcdef', TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'bench-admin' } } },
    profiles: [
      {
        ...common,
        ID: 'bench-ldap',
        ProviderName: 'ADProvider',
        ProviderConfig: {
          ...serviceAccountSearch(slapd),
          LDAPAttributes: ['mail', 'givenName', 'sn', 'memberOf'],
        },
      },
      {
        ...common,
        ID: 'bench-oidc',
        ProviderName: 'SocialProvider',
        ProviderConfig: { CallbackBaseURL: base, UseProviders: [{ Name: 'openid-connect', Key: 'bench', Secret: CLIENT_SECRET, DiscoverURL: op.discoveryUrl, Scopes: ['openid', 'email', 'profile'] }] },
      },
    ],
  });

  const rows: string[] = [];
  const ldap = directLdap(slapd);
  let closeLdap: (() => Promise<unknown>) | undefined;
  try {
    for (const concurrency of [1, 16]) {
      const health = {
        broker: await measure(3000, concurrency, async () => expectStatus(await fetch(`${broker.url}/health`), 200, 'broker /health')),
        direct: await measure(3000, concurrency, async () => expectStatus(await fetch(`${bare.url}/`), 200, 'bare server')),
      };
      rows.push(row(`health, ${concurrency} at a time`, health.broker, health.direct));
      console.error(`bench: health done (${concurrency} at a time)`);

      const user = (i: number) => USERS[i % USERS.length] as (typeof USERS)[number];
      const ldapLogin = {
        broker: await measure(600, concurrency, async (i) => {
          const { uid, password } = user(i);
          const res = await fetch(`${broker.url}/auth/bench-ldap/ldap`, { method: 'POST', body: new URLSearchParams({ username: uid, password }), redirect: 'manual' });
          expectStatus(res, 302, 'broker LDAP login');
          await res.arrayBuffer();
        }),
        direct: await measure(600, concurrency, async (i, worker) => {
          const { uid, password } = user(i);
          const r = await ldap(worker, uid, password);
          closeLdap = r.close;
          await directSso(stub, r.email);
        }),
      };
      rows.push(row(`ldap login, ${concurrency} at a time`, ldapLogin.broker, ldapLogin.direct));
      console.error(`bench: ldap login done (${concurrency} at a time)`);
    }

    const config = await client.discovery(new URL(op.discoveryUrl), 'bench', { client_secret: CLIENT_SECRET }, client.ClientSecretBasic(CLIENT_SECRET), { execute: [client.allowInsecureRequests] });
    const oidc = {
      broker: await measure(80, 4, async (i) => {
        const jar = new CookieJar();
        const start = await fetchWithJar(`${broker.url}/auth/bench-oidc/openid-connect`, jar);
        const callback = await loginAtOp(start.headers.get('location') ?? '', jar, i % 2 ? 'alice' : 'bob', `${base}/auth/bench-oidc/openid-connect/callback`);
        const res = await fetchWithJar(callback, jar);
        expectStatus(res, 302, 'broker OIDC login');
      }),
      direct: await measure(80, 4, async (i) => {
        const [state, nonce, verifier] = [client.randomState(), client.randomNonce(), client.randomPKCECodeVerifier()];
        const url = client.buildAuthorizationUrl(config, {
          redirect_uri: directCallback,
          scope: 'openid email profile',
          state,
          nonce,
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        });
        const callback = await loginAtOp(url.toString(), new CookieJar(), i % 2 ? 'alice' : 'bob', directCallback);
        const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
        const claims = tokens.claims();
        const info = await client.fetchUserInfo(config, tokens.access_token, claims?.sub ?? '');
        await directSso(stub, String(info.email));
      }),
    };
    rows.push(row('oidc login (with the OP), 4 at a time', oidc.broker, oidc.direct));
  } finally {
    await closeLdap?.();
    await broker.close();
    await Promise.all([op.close(), stub.close(), bare.close(), slapd.stop()]);
  }

  console.log('\nbroker vs the same work done directly (one run, this machine; ratio = broker/direct throughput)\n');
  console.log('| work | broker /s | direct /s | ratio | broker p50 ms | direct p50 ms | broker p99 ms | direct p99 ms |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

await main();
