/**
 * Logout with two replicas on one redis-server (`BackEnd.Name: "redis"`; issue 21, docs/logout.md): a login kept
 * by replica A is found by replica B from the browser's cookie (B's end_session request carries its id token),
 * dropped there once, and the user's Tyk key (GenerateTemporaryAuthToken, one token per user) is deleted through
 * the Dashboard; the logout is audited (`logout`, the user hashed) and counted in tib_logouts_total; Redis holds
 * nothing of the login afterwards, and anonymous logouts store nothing.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { hashUserId } from '../../../src/audit.js';
import { sessionCookieName } from '../../../src/http/logout-routes.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { metricValue, parseMetrics } from '../../support/prometheus.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-logout-replicas';
const ADMIN = 'dashboard-admin-secret-for-logout-replicas';
const SECRET = 'broker-admin-secret-for-logout-replicas-0123456789';
const CLIENT_SECRET = 'oidc-client-secret-for-logout-replicas';
const SESSION_SECRET = 'session-secret-shared-by-the-logout-replicas-0123';
const AUDIT_KEY = 'audit-key-of-the-logout-replica-tests';

let op: TestOp;
let stub: TykStub;
let redis: TestRedis;
let a: TestBroker;
let b: TestBroker;
let auditPath: string;

beforeAll(async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const [baseA, baseB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  [stub, redis] = await Promise.all([startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN }), startRedis()]);
  auditPath = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'logout-audit-')), 'audit.log');
  op = await startTestOp({
    redirectUris: [`${baseA}/auth/keys/openid-connect/callback`],
    clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET, postLogoutRedirectUris: [`${baseB}/auth/keys/logout/callback`] }],
  });
  const profile = (base: string) =>
    oidcProfile({
      id: 'keys',
      discoveryUrl: op.discoveryUrl,
      callbackBase: base,
      returnUrl: `${stub.url}/tap`,
      credential: CRED,
      key: 'broker',
      secret: CLIENT_SECRET,
      profile: { ActionType: 'GenerateTemporaryAuthToken', IdentityHandlerConfig: { DashboardCredential: CRED, TokenAuth: { BaseAPIID: 'api-1' } }, LogoutRedirectURLs: [`${stub.url}/tap`] },
    });
  const config = {
    LoginStartsPerMinute: 0,
    Secret: SECRET,
    SessionSecret: SESSION_SECRET,
    BackEnd: { Name: 'redis' as const, IdentityBackendSettings: { Host: '127.0.0.1', Port: redis.port } },
    TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } },
  };
  a = await startTestBroker({ port: portA, config, profiles: [profile(baseA)] });
  b = await startTestBroker({ port: portB, config: { ...config, Audit: { Enabled: true, Path: auditPath, Key: AUDIT_KEY } }, profiles: [profile(baseB)] });
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await op?.close();
  await stub?.close();
  await redis?.stop();
  await fs.rm(redis?.dir ?? '', { recursive: true, force: true });
});

describe('two replicas on Redis', () => {
  it("B finds A's login, ends it at the OP, deletes the user's key, audits and counts it; Redis keeps nothing of it", async () => {
    const jar = new CookieJar();
    const start = await fetchWithJar(`${a.url}/auth/keys/openid-connect`, jar);
    const back = await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', `${a.url}/auth/keys/openid-connect/callback`);
    const signedIn = await fetchWithJar(back, jar);
    expect(signedIn.headers.get('location')).toMatch(/\/tap#token=/);
    const [key] = [...stub.keys.keys()];
    expect(key).toBeDefined();
    const cookie = (signedIn.headers.getSetCookie().find((c) => c.startsWith('tib-session-')) ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^tib-session-[\w-]{10}=[\w-]{43}$/);
    expect(Number(await redis.cli('EVAL', "return #redis.call('KEYS', ARGV[1])", '0', '*login-session:*'))).toBe(1);

    // The browser's next request lands on replica B.
    const out = await fetch(`${b.url}/auth/keys/logout`, { headers: { cookie }, redirect: 'manual' });
    expect(out.status).toBe(302);
    const endSession = new URL(out.headers.get('location') ?? '');
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(stub.deletedKeys).toEqual([{ apiId: 'api-1', key, found: true }]);
    expect(await redis.cli('EVAL', "return #redis.call('KEYS', ARGV[1])", '0', '*login-session:*')).toBe('0');

    // The OP sends the browser back to B; B's flow cookie opens; it ends on return_to.
    const jarB = new CookieJar();
    jarB.store(b.url, out);
    const page = await fetchWithJar(endSession.toString(), jar);
    const html = await page.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? '';
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const confirmed = await fetchWithJar(new URL(action, op.issuer).toString(), jar, { method: 'POST', body: new URLSearchParams({ xsrf, logout: 'yes' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const end = await fetchWithJar(confirmed.headers.get('location') ?? '', jarB);
    expect(end.status).toBe(302);
    expect(end.headers.get('location')).toBe(`${stub.url}/tap`);

    const events = (await fs.readFile(auditPath, 'utf8')).split('\n').filter((l) => l.includes('"event":"logout"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toEqual([expect.objectContaining({ event: 'logout', profile: 'keys', kind: 'rp', outcome: 'ok', user: hashUserId(Buffer.from(AUDIT_KEY), 'alice') })]);
    expect(JSON.stringify(events)).not.toContain('alice');
    const samples = parseMetrics((await request(b.url).get('/metrics').set('Authorization', SECRET)).text);
    expect(metricValue(samples, 'tib_logouts_total', { profile: 'keys', kind: 'rp', outcome: 'ok' })).toBe(1);
  });

  it('anonymous logouts (no cookie, a made-up one) store nothing', async () => {
    const before = await redis.cli('DBSIZE');
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${b.url}/auth/keys/logout`, { headers: i % 2 ? { cookie: `${sessionCookieName('keys')}=${'A'.repeat(43)}` } : {}, redirect: 'manual' });
      expect(res.status).toBe(302);
    }
    expect(await redis.cli('DBSIZE')).toBe(before);
  });
});
