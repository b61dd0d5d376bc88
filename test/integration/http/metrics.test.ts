/**
 * Metrics (issue 11, item 3), read from /metrics as Prometheus scrapes them, around real logins against a
 * real slapd and a real OpenID Provider: login counters by profile, provider, outcome and bounded reason,
 * the provider-step and outbound histograms (directory, IdP), lockouts, profile reloads; nothing about the
 * user in any label. The main port answers /metrics only to the admin Secret; with a management port it does
 * not answer at all, and the management listener (on loopback by default) serves /metrics, /health, /ready.
 */
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { metricValue, parseMetrics, type Sample } from '../../support/prometheus.js';
import { freePort, ldapProfile, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-metrics';
const ADMIN = 'dashboard-admin-secret-for-metrics';
const SECRET = 'admin-api-secret-for-metrics-tests';
const SESSION_SECRET = 'session-secret-for-metrics-tests-0123456789';
const CLIENT_SECRET = 'oidc-client-secret-for-metrics-tests';
/** A username that must never show up in /metrics, whatever happens to its login. */
const CANARY_USER = 'canary-user-7f3a9';

let slapd: Slapd;
let stub: TykStub;
let op: TestOp;
let broker: TestBroker;
let base: string;
/** A port nothing listens on: the directory of the 'down' profile. */
let closedPort: number;

const scrape = async (b: TestBroker = broker): Promise<{ samples: Sample[]; text: string }> => {
  const res = await request(b.url).get('/metrics').set('Authorization', SECRET);
  expect(res.status).toBe(200);
  return { samples: parseMetrics(res.text), text: res.text };
};
const ldapLogin = (id: string, username: string, password: string) => request(broker.url).post(`/auth/${id}/ldap`).type('form').send({ username, password });

beforeAll(async () => {
  const port = await freePort();
  closedPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
  op = await startTestOp({ redirectUris: [`${base}/auth/oidc/openid-connect/callback`], clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET }] });
  broker = await startTestBroker({
    port,
    config: { Secret: SECRET, SessionSecret: SESSION_SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [
      ldapProfile(slapd, { id: 'ldap', returnUrl: `${stub.url}/tap`, credential: CRED }),
      ldapProfile({ port: closedPort }, { id: 'down', returnUrl: `${stub.url}/tap`, credential: CRED }),
      ldapProfile(slapd, { id: 'guarded', returnUrl: `${stub.url}/tap`, credential: CRED, providerConfig: { BruteForce: { UsernameLimit: 2 } } }),
      oidcProfile({ id: 'oidc', discoveryUrl: op.discoveryUrl, callbackBase: base, returnUrl: `${stub.url}/tap`, credential: CRED, key: 'broker', secret: CLIENT_SECRET }),
    ],
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await Promise.all([op?.close(), stub?.close(), slapd?.stop()]);
});

describe('login metrics', () => {
  it('counts an LDAP success and a wrong password, times the provider step and each directory call', async () => {
    const before = (await scrape()).samples;
    expect((await ldapLogin('ldap', 'alice', 'alice-pass')).status).toBe(302);
    expect((await ldapLogin('ldap', 'alice', 'wrong-password')).status).toBe(401);
    const after = (await scrape()).samples;
    const delta = (name: string, labels: Record<string, string>) => metricValue(after, name, labels) - metricValue(before, name, labels);

    expect(delta('tib_logins_total', { profile: 'ldap', provider: 'ADProvider', outcome: 'success' })).toBe(1);
    expect(delta('tib_logins_total', { profile: 'ldap', provider: 'ADProvider', outcome: 'failure', reason: 'bad_credentials' })).toBe(1);
    expect(delta('tib_provider_step_seconds_count', { profile: 'ldap', outcome: 'ok' })).toBe(1);
    expect(delta('tib_provider_step_seconds_count', { profile: 'ldap', outcome: 'error' })).toBe(1);
    // Service-account search, the user's bind, for each login; a refused password is an answer, not an error.
    expect(delta('tib_outbound_request_seconds_count', { target: 'ldap', operation: 'search', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(delta('tib_outbound_request_seconds_count', { target: 'ldap', operation: 'bind', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(delta('tib_outbound_errors_total', { target: 'ldap' })).toBe(0);
  });

  it('counts a directory that is down as an outbound error and a failed login', async () => {
    const before = (await scrape()).samples;
    expect((await ldapLogin('down', 'alice', 'alice-pass')).status).toBeGreaterThanOrEqual(500);
    const after = (await scrape()).samples;
    const delta = (name: string, labels: Record<string, string>) => metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('tib_outbound_errors_total', { target: 'ldap' })).toBeGreaterThanOrEqual(1);
    expect(delta('tib_outbound_request_seconds_count', { target: 'ldap', outcome: 'error' })).toBeGreaterThanOrEqual(1);
    expect(delta('tib_logins_total', { profile: 'down', provider: 'ADProvider', outcome: 'failure' })).toBe(1);
    expect(['unavailable', 'directory_error']).toContain(after.find((s) => s.name === 'tib_logins_total' && s.labels.profile === 'down')?.labels.reason);
  });

  it('counts a lockout and the refusals it causes; no user name appears in any label', async () => {
    const before = (await scrape()).samples;
    for (let i = 0; i < 3; i++) await ldapLogin('guarded', CANARY_USER, `wrong-${i}`);
    const { samples: after, text } = await scrape();
    const delta = (name: string, labels: Record<string, string>) => metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('tib_lockouts_total', { profile: 'guarded', by: 'pair' })).toBe(1);
    expect(delta('tib_logins_total', { profile: 'guarded', outcome: 'failure', reason: 'locked_out' })).toBe(1);
    expect(delta('tib_logins_total', { profile: 'guarded', outcome: 'failure', reason: 'bad_credentials' })).toBe(2);
    expect(text).not.toContain(CANARY_USER);
    expect(text).not.toContain('127.0.0.1');
  });

  it('counts an OpenID Connect success and a replayed callback, and times the IdP calls', async () => {
    const before = (await scrape()).samples;
    const jar = new CookieJar();
    const start = await fetchWithJar(`${base}/auth/oidc/openid-connect`, jar);
    expect(start.status).toBe(302);
    const callback = await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', `${base}/auth/oidc/openid-connect/callback`);
    expect((await fetchWithJar(callback, jar)).status).toBe(302);
    // The same callback again: its state was used up.
    expect((await fetchWithJar(callback, jar)).status).toBe(400);
    const after = (await scrape()).samples;
    const delta = (name: string, labels: Record<string, string>) => metricValue(after, name, labels) - metricValue(before, name, labels);

    expect(delta('tib_logins_total', { profile: 'oidc', provider: 'SocialProvider', outcome: 'success' })).toBe(1);
    expect(delta('tib_logins_total', { profile: 'oidc', provider: 'SocialProvider', outcome: 'failure', reason: 'state_invalid' })).toBe(1);
    expect(delta('tib_outbound_request_seconds_count', { target: 'idp', operation: 'token', outcome: 'ok' })).toBe(1);
  });

  it('counts profile reloads by result', async () => {
    const before = (await scrape()).samples;
    const good = await fs.readFile(broker.profilesPath, 'utf8');
    await fs.writeFile(broker.profilesPath, '[{"ID": ');
    expect((await broker.broker.reload()).ok).toBe(false);
    await fs.writeFile(broker.profilesPath, JSON.stringify(JSON.parse(good), null, 1));
    expect((await broker.broker.reload()).ok).toBe(true);
    const after = (await scrape()).samples;
    expect(metricValue(after, 'tib_profile_reloads_total', { result: 'failure' }) - metricValue(before, 'tib_profile_reloads_total', { result: 'failure' })).toBe(1);
    expect(metricValue(after, 'tib_profile_reloads_total', { result: 'success' }) - metricValue(before, 'tib_profile_reloads_total', { result: 'success' })).toBe(1);
  });

  it('carries process metrics', async () => {
    const { samples } = await scrape();
    expect(metricValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});

describe('/metrics on the main port (no management port)', () => {
  it('answers only to the admin Secret, raw (as the admin API) or as a bearer token (Prometheus)', async () => {
    expect((await request(broker.url).get('/metrics')).status).toBe(401);
    expect((await request(broker.url).get('/metrics').set('Authorization', 'wrong')).status).toBe(401);
    const bearer = await request(broker.url).get('/metrics').set('Authorization', `Bearer ${SECRET}`);
    expect(bearer.status).toBe(200);
    expect(bearer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(bearer.text).toContain('# TYPE tib_logins_total counter');
  });

  it('is closed to everyone when no Secret is set', async () => {
    const b = await startTestBroker({ profiles: [] });
    try {
      expect((await request(b.url).get('/metrics')).status).toBe(401);
      expect((await request(b.url).get('/metrics').set('Authorization', 'Bearer ')).status).toBe(401);
    } finally {
      await b.close();
    }
  });
});

describe('management listener', () => {
  it('serves /metrics, /health and /ready without credentials, on 127.0.0.1 by default; the main port no longer serves /metrics', async () => {
    const mgmtPort = await freePort();
    const b = await startTestBroker({ profiles: [], config: { Secret: SECRET, Management: { Port: mgmtPort } } });
    try {
      const server = await b.broker.listenManagement();
      expect(server).toBeDefined();
      const addr = server?.address() as AddressInfo;
      expect(addr).toMatchObject({ address: '127.0.0.1', port: mgmtPort });
      const mgmt = `http://127.0.0.1:${mgmtPort}`;
      const metrics = await request(mgmt).get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('tib_logins_total');
      expect((await request(mgmt).get('/health')).status).toBe(200);
      const ready = await request(mgmt).get('/ready');
      expect(ready.status).toBe(200);
      expect(ready.text).toBe('{"Status":"ok"}');
      // Nothing else there: not the admin API, not the logins.
      expect((await request(mgmt).get('/api/profiles').set('Authorization', SECRET)).status).toBe(404);
      expect(metrics.headers['x-powered-by']).toBeUndefined();
      expect(metrics.headers['x-content-type-options']).toBe('nosniff');

      const main = await request(b.url).get('/metrics').set('Authorization', SECRET);
      expect(main.status).toBe(404);
    } finally {
      await b.close();
    }
  });

  it('runs only when Management.Port is set', async () => {
    const b = await startTestBroker({ profiles: [] });
    try {
      expect(await b.broker.listenManagement()).toBeUndefined();
    } finally {
      await b.close();
    }
  });
});

describe('a SocialProvider login at a provider name the profile does not have (a wrong URL)', () => {
  it('is counted as bad_request, not idp_error: the IdP was never asked', async () => {
    const secret = 'admin-api-secret-for-wrong-url';
    const b = await startTestBroker({
      config: { Secret: secret, SessionSecret: 'z'.repeat(40), TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: [
        {
          ID: 'oidc',
          ActionType: 'GenerateOrLoginUserProfile',
          ProviderName: 'SocialProvider',
          ReturnURL: `${stub.url}/tap`,
          IdentityHandlerConfig: { DashboardCredential: CRED },
          ProviderConfig: {
            CallbackBaseURL: 'https://tib.example',
            UseProviders: [{ Name: 'openid-connect', Key: 'client', Secret: 'wrong-url-client-secret', DiscoverURL: 'https://idp.example/.well-known/openid-configuration' }],
          },
        },
      ],
    });
    try {
      // TIB's social route names the provider (openid-connect), not the ProviderName.
      expect((await request(b.url).get('/auth/oidc/SocialProvider')).status).toBe(400);
      const metrics = await request(b.url).get('/metrics').set('Authorization', secret);
      expect(metrics.text).toContain('tib_logins_total{profile="oidc",provider="SocialProvider",outcome="failure",reason="bad_request"} 1');
      expect(metrics.text).not.toContain('reason="idp_error"');
    } finally {
      await b.close();
    }
  });
});
