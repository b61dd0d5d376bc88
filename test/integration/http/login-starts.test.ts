/**
 * tib.conf LoginStartsPerMinute (issue 17, findings 1 and 2): anyone can start a redirect login, so the
 * starts of the login cookie's providers (src/providers/registry.ts cookieProviders) count against the
 * client address per minute, in memory (src/http/login-start-limit.ts). Against a real OpenID Provider:
 * past the limit a 429 with Retry-After, the provider not called, counted in /metrics, one WARN and one
 * audit line per client and minute; clients are told apart through TrustedProxies, an IPv6 /64 is one
 * client, password logins are not counted, and a balancer not in TrustedProxies is named in the WARN.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { offlineLdapProfile } from '../../support/profiles.js';
import { metricValue, parseMetrics } from '../../support/prometheus.js';
import { freePort } from '../../support/slapd.js';

const SECRET = 'admin-api-secret-for-login-start-tests';
const SESSION_SECRET = 'session-secret-for-login-start-tests-0123456789';
const CLIENT_SECRET = 'oidc-client-secret-for-login-start-tests';
const AUDIT_KEY = 'audit-key-for-the-login-start-tests-0123456789';
const LIMIT = 3;

let op: TestOp;
let broker: TestBroker;
let auditDir: string;
let auditPath: string;

beforeAll(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  op = await startTestOp({ redirectUris: [`${base}/auth/oidc/openid-connect/callback`], clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET }] });
  auditDir = await fs.mkdtemp(path.join(os.tmpdir(), 'login-starts-audit-'));
  auditPath = path.join(auditDir, 'audit.log');
  const oidc = oidcProfile({ id: 'oidc', discoveryUrl: op.discoveryUrl, callbackBase: base, returnUrl: 'http://dash.example.com/tap', credential: 'cred', key: 'broker', secret: CLIENT_SECRET });
  broker = await startTestBroker({
    port,
    profiles: [oidc, offlineLdapProfile('ldap')],
    config: { Secret: SECRET, SessionSecret: SESSION_SECRET, LoginStartsPerMinute: LIMIT, TrustedProxies: ['127.0.0.1'], Audit: { Enabled: true, Path: auditPath, Key: AUDIT_KEY } },
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await op?.close();
  await fs.rm(auditDir, { recursive: true, force: true });
});

/** A start from `client`, through the trusted proxy on loopback. */
const start = (client: string, profile = 'oidc', provider = 'openid-connect') => request(broker.url).get(`/auth/${profile}/${provider}`).set('X-Forwarded-For', client);
const samples = async () => parseMetrics((await request(broker.url).get('/metrics').set('Authorization', SECRET)).text);

describe('login starts per client and minute', () => {
  it('past the limit: 429 with Retry-After, the provider not called, counted, one WARN naming the client, profile and setting', async () => {
    const before = await samples();
    const logsBefore = broker.logs.length;
    for (let n = 0; n < LIMIT; n++) {
      const ok = await start('203.0.113.7');
      expect(ok.status).toBe(302);
      expect(ok.headers.location).toContain(new URL(op.discoveryUrl).host);
    }
    for (let n = 0; n < 2; n++) {
      const refused = await start('203.0.113.7').set('Accept', 'application/json');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(refused.headers['set-cookie']).toBeUndefined();
      expect(refused.headers.location).toBeUndefined();
      expect(refused.body).toEqual({ Status: 'error', Error: 'Too many login attempts from this address; retry later' });
    }
    const after = await samples();
    const delta = (name: string, labels: Record<string, string>) => metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('tib_logins_total', { profile: 'oidc', outcome: 'failure', reason: 'rate_limited' })).toBe(2);
    // The provider ran for the allowed starts only.
    expect(delta('tib_provider_step_seconds_count', { profile: 'oidc' })).toBe(LIMIT);

    const warnings = broker.logs.slice(logsBefore).filter((l) => l.includes('LoginStartsPerMinute'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('203.0.113.7');
    expect(warnings[0]).toContain('oidc');
    expect(warnings[0]).toContain('TYK_IB_LOGINSTARTSPERMINUTE');
    // A peer in TrustedProxies: nothing about a shared balancer address; never a state or a cookie.
    expect(warnings[0]).not.toContain('X-Forwarded-For');
    expect(warnings[0]).not.toMatch(/state=|cookie/i);
  });

  it('one audit line per client and minute, with the rate_limited class', async () => {
    for (let n = 0; n < LIMIT + 3; n++) await start('203.0.113.8');
    await new Promise((r) => setTimeout(r, 200)); // the audit stream is written asynchronously
    const lines = (await fs.readFile(auditPath, 'utf8').catch(() => '')).split('\n').filter((l) => l.includes('rate_limited') && l.includes('203.0.113.8'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ event: 'login', profile: 'oidc', outcome: 'failure', reason: 'rate_limited', client: '203.0.113.8' });
  });

  it('each client has its own budget; an IPv6 /64 is one client', async () => {
    for (let n = 0; n < LIMIT; n++) expect((await start(`2001:db8:7:1::${n + 1}`)).status).toBe(302);
    expect((await start('2001:db8:7:1::99')).status).toBe(429);
    expect((await start('2001:db8:7:2::1')).status).toBe(302);
    expect((await start('198.51.100.20')).status).toBe(302);
  });

  it('password logins (the login page of an LDAP profile) are not counted here', async () => {
    for (let n = 0; n < LIMIT + 3; n++) expect((await start('203.0.113.9', 'ldap', 'ADProvider')).status).not.toBe(429);
    expect((await start('203.0.113.9')).status).toBe(302);
  });
});

describe('behind a balancer that TrustedProxies does not name', () => {
  it('every client shares the balancer address and its limit, and the WARN says so with the fix', async () => {
    const b = await startTestBroker({
      profiles: [oidcProfile({ id: 'shared', discoveryUrl: op.discoveryUrl, callbackBase: 'http://127.0.0.1:1', returnUrl: 'http://dash.example.com/tap', credential: 'cred', key: 'broker', secret: CLIENT_SECRET })],
      config: { SessionSecret: SESSION_SECRET, LoginStartsPerMinute: 1 },
    });
    try {
      const from = (client: string) => request(b.url).get('/auth/shared/openid-connect').set('X-Forwarded-For', client);
      expect((await from('203.0.113.10')).status).toBe(302);
      expect((await from('203.0.113.11')).status).toBe(429);
      const warning = b.logs.find((l) => l.includes('LoginStartsPerMinute') && l.includes('shared'));
      expect(warning).toContain('127.0.0.1');
      expect(warning).toContain('X-Forwarded-For');
      expect(warning).toContain('list its address in TrustedProxies');
    } finally {
      await b.close();
    }
  });

  it('LoginStartsPerMinute 0: no limit', async () => {
    const b = await startTestBroker({
      profiles: [oidcProfile({ id: 'open', discoveryUrl: op.discoveryUrl, callbackBase: 'http://127.0.0.1:1', returnUrl: 'http://dash.example.com/tap', credential: 'cred', key: 'broker', secret: CLIENT_SECRET })],
      config: { SessionSecret: SESSION_SECRET, LoginStartsPerMinute: 0 },
    });
    try {
      for (let n = 0; n < 20; n++) expect((await request(b.url).get('/auth/open/openid-connect')).status).toBe(302);
    } finally {
      await b.close();
    }
  });
});
