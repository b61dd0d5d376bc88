/**
 * What operators of Keycloak, Dex and oauth2-proxy look for (issue 18, point 6), against a real slapd and the
 * Tyk stub: request IDs (a trusted proxy's kept when valid, else a new one; returned in X-Request-Id; on every
 * log line and audit event of the request), the client address on the login log lines, HTTP request metrics by
 * route template, method and status class, `GET /version` and `tib_build_info` on the main port and the
 * management listener.
 */
import fs from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { metricValue, parseMetrics } from '../../support/prometheus.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { ldapProfile, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-request-ids';
const ADMIN = 'dashboard-admin-secret-for-request-ids';
const SECRET = 'admin-api-secret-for-request-id-tests';
const SESSION_SECRET = 'session-secret-for-request-id-tests-0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const pkg = JSON.parse(await fs.readFile(path.resolve(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string };

let slapd: Slapd;
let stub: TykStub;
let dir: string;
let auditPath: string;
/** Trusts 127.0.0.1 (the test's own address) as a proxy. */
let trusting: TestBroker;
/** Trusts no proxy. */
let plain: TestBroker;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const profile = () => ldapProfile(slapd, { id: 'directory', returnUrl: `${stub.url}/tap`, credential: CRED });
const tyk = () => ({ DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } });

async function auditEvents(n: number): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 100; i++) {
    const events = (await fs.readFile(auditPath, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    if (events.length >= n) return events;
    await sleep(50);
  }
  throw new Error(`the audit log never reached ${n} events`);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'request-id-'));
  auditPath = path.join(dir, 'audit.log');
  [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
  trusting = await startTestBroker({
    profiles: [profile()],
    config: { Secret: SECRET, SessionSecret: SESSION_SECRET, TrustedProxies: ['127.0.0.1'], Audit: { Enabled: true, Path: auditPath, Key: '' }, TykAPISettings: tyk() },
  });
  plain = await startTestBroker({ profiles: [profile()], config: { Secret: SECRET, SessionSecret: SESSION_SECRET, TykAPISettings: tyk() } });
}, 60_000);

afterAll(async () => {
  await trusting?.close();
  await plain?.close();
  await Promise.all([stub?.close(), slapd?.stop()]);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('X-Request-Id', () => {
  it('is made (a random UUID) for every request and returned, a fresh one each time', async () => {
    const a = await request(plain.url).get('/version');
    const b = await request(plain.url).get('/no/such/path');
    expect(a.headers['x-request-id']).toMatch(UUID);
    expect(b.headers['x-request-id']).toMatch(UUID);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  it('is taken from a trusted proxy when valid, never from any other peer', async () => {
    expect((await request(trusting.url).get('/version').set('X-Request-Id', 'proxy-id.42:a/b+c=')).headers['x-request-id']).toBe('proxy-id.42:a/b+c=');
    // The same header from a peer outside TrustedProxies is anybody's: replaced.
    expect((await request(plain.url).get('/version').set('X-Request-Id', 'proxy-id-42')).headers['x-request-id']).toMatch(UUID);
    // Invalid from a trusted proxy: too long, or a character a log line could be forged with.
    for (const bad of ['x'.repeat(129), 'a b', 'a"b', 'id\u0085next']) {
      expect((await request(trusting.url).get('/version').set('X-Request-Id', bad)).headers['x-request-id']).toMatch(UUID);
    }
  });

  it('is on every log line of a login (with the client address) and on its audit event', async () => {
    const logs = trusting.logs;
    const from = logs.length;
    const bad = await request(trusting.url).post('/auth/directory/ldap').type('form').set('X-Request-Id', 'failed-login-1').set('X-Forwarded-For', '192.0.2.10').send({ username: 'alice', password: 'wrong-password' });
    expect(bad.status).toBe(401);
    expect(bad.headers['x-request-id']).toBe('failed-login-1');
    const good = await request(trusting.url).post('/auth/directory/ldap').type('form').set('X-Forwarded-For', '192.0.2.11').send({ username: 'alice', password: 'alice-pass' });
    expect(good.status).toBe(302);
    const goodId = String(good.headers['x-request-id']);
    expect(goodId).toMatch(UUID);

    const failedLines = logs.slice(from).filter((l) => l.includes('request_id="failed-login-1"'));
    expect(failedLines.some((l) => / login failed .*client="192\.0\.2\.10"/.test(l))).toBe(true);
    const goodLines = logs.slice(from).filter((l) => l.includes(`request_id="${goodId}"`));
    expect(goodLines.some((l) => / login succeeded .*client="192\.0\.2\.11"/.test(l))).toBe(true);
    // Every line of the two logins is one of theirs: none lost its context on the way (form parsing, LDAP, Tyk).
    for (const line of logs.slice(from).filter((l) => / AUTH HANDLERS: /.test(l))) expect(line).toMatch(/request_id="(failed-login-1|[0-9a-f-]{36})"/);

    const events = await auditEvents(2);
    expect(events.find((e) => e.event === 'login' && e.outcome === 'failure')).toMatchObject({ request_id: 'failed-login-1', client: '192.0.2.10' });
    expect(events.find((e) => e.event === 'login' && e.outcome === 'success')).toMatchObject({ request_id: goodId, client: '192.0.2.11' });
  });

  it('is on the audit event of an admin-API change', async () => {
    const before = (await auditEvents(0)).length;
    const res = await request(trusting.url).delete('/api/profiles/nobody').set('Authorization', SECRET).set('X-Request-Id', 'admin-change-7');
    expect(res.headers['x-request-id']).toBe('admin-change-7');
    const events = (await auditEvents(before + 1)).slice(before);
    expect(events[0]).toMatchObject({ event: 'admin', operation: 'delete', profile: 'nobody', request_id: 'admin-change-7' });
  });
});

describe('HTTP request metrics', () => {
  it('count requests by route template, method and status class, and time them; no raw path in any label', async () => {
    const scrape = async () => parseMetrics((await request(plain.url).get('/metrics').set('Authorization', SECRET).expect(200)).text);
    const before = await scrape();
    const count = (labels: Record<string, string>, samples = before) => metricValue(samples, 'tib_http_requests_total', labels);
    await request(plain.url).post('/auth/directory/ldap').type('form').send({ username: 'alice', password: 'wrong-password' }).expect(401);
    await request(plain.url).post('/auth/directory/ldap').type('form').send({ username: 'alice', password: 'alice-pass' }).expect(302);
    await request(plain.url).get('/auth/directory/ldap/callback');
    await request(plain.url).get('/canary-path-5d1e/x').expect(404);
    await request(plain.url).get('/api/profiles/directory').set('Authorization', SECRET).expect(200);
    await request(plain.url).get('/api/profiles').set('Authorization', 'wrong').expect(401);
    await request(plain.url).put('/version').expect(405);
    await request(plain.url).get('/version').set('X-Forwarded-For', '192.0.2.99').expect(200);
    await new Promise((r) => setImmediate(r));
    const after = await scrape();
    const grew = (labels: Record<string, string>) => count(labels, after) - count(labels);

    expect(grew({ route: '/auth/:id/:provider', method: 'POST', status: '4xx' })).toBe(1);
    expect(grew({ route: '/auth/:id/:provider', method: 'POST', status: '3xx' })).toBe(1);
    expect(grew({ route: '/auth/:id/:provider/callback', method: 'GET' })).toBe(1);
    expect(grew({ route: 'unmatched', method: 'GET', status: '4xx' })).toBe(1);
    expect(grew({ route: '/api/profiles/:id', method: 'GET', status: '2xx' })).toBe(1);
    expect(grew({ route: '/api/*', method: 'GET', status: '4xx' })).toBe(1);
    expect(grew({ route: '/version', method: 'PUT', status: '4xx' })).toBe(1);
    expect(grew({ route: '/version', method: 'GET', status: '2xx' })).toBe(1);
    const durations = (samples: typeof before) => metricValue(samples, 'tib_http_request_duration_seconds_count', { route: '/auth/:id/:provider', method: 'POST' });
    expect(durations(after) - durations(before)).toBe(2);
    const text = after.map((s) => JSON.stringify(s.labels)).join('\n');
    for (const raw of ['canary-path', '/auth/directory', '192.0.2.99']) expect(text).not.toContain(raw);
    // Route, method and status: three small sets, whatever clients send.
    const statuses = new Set(after.filter((s) => s.name === 'tib_http_requests_total').map((s) => s.labels.status));
    for (const s of statuses) expect(s).toMatch(/^[1-5]xx$/);
  });

  it('bound the method to the usual set', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const u = new URL(plain.url);
      void import('node:http').then(({ default: h }) => {
        const req = h.request({ host: u.hostname, port: u.port, method: 'PROPFIND', path: '/version' }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    });
    expect(res).toBe(405);
    const samples = parseMetrics((await request(plain.url).get('/metrics').set('Authorization', SECRET)).text);
    expect(metricValue(samples, 'tib_http_requests_total', { route: '/version', method: 'other' })).toBeGreaterThanOrEqual(1);
    expect(samples.some((s) => s.labels.method === 'PROPFIND')).toBe(false);
  });
});

describe('GET /version and tib_build_info', () => {
  it('answer the version from package.json and the Node version, on the main port and the management listener', async () => {
    const main = await request(plain.url).get('/version').expect(200);
    expect(main.headers['content-type']).toMatch(/^application\/json/);
    expect(main.body).toMatchObject({ version: pkg.version, node: process.version });
    if (main.body.commit !== undefined) expect(main.body.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(Object.keys(main.body as object).sort()).toEqual(expect.arrayContaining(['node', 'version']));

    const server = (await plain.broker.listenManagement(0)) as http.Server;
    const mgmt = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await request(mgmt).get('/version').expect(200)).body).toEqual(main.body);
    const samples = parseMetrics((await request(mgmt).get('/metrics').expect(200)).text);
    const info = samples.find((s) => s.name === 'tib_build_info');
    expect(info).toMatchObject({ value: 1, labels: { version: pkg.version, node: process.version, commit: (main.body as { commit?: string }).commit ?? '' } });
  });
});
