/**
 * Security headers on every answer the broker gives (issue 11, item 8): nosniff, no referrer, no framing
 * (X-Frame-Options and CSP frame-ancestors), no X-Powered-By; a page that sets its own Content-Security-Policy
 * (the LDAP form) keeps it. And `/` without a demo in front: a 404 page for browsers that points to the docs,
 * TIB's JSON envelope for anything else; a host application's own `/` is left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request, { type Response } from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';

const SECRET = 'admin-api-secret-for-header-tests';
const ldap = {
  ID: 'ldap',
  Name: 'Staff directory',
  OrgID: 'org-1',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://dash.example.com/tap',
  IdentityHandlerConfig: { DashboardCredential: 'dashboard-credential-for-headers' },
  ProviderConfig: { LDAPServer: '127.0.0.1', LDAPPort: '1', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' },
};

let broker: TestBroker;
let mounted: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker({ profiles: [ldap], config: { Secret: SECRET } });
  mounted = await startTestBroker({ profiles: [ldap], config: { Secret: SECRET }, mountPath: '/tib' });
});
afterAll(async () => {
  await broker?.close();
  await mounted?.close();
});

function expectBaseHeaders(res: Response) {
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(res.headers['x-powered-by']).toBeUndefined();
}

describe('headers on every answer', () => {
  const cases: Array<[string, (base: string) => request.Test, number]> = [
    ['/health', (u) => request(u).get('/health'), 200],
    ['/ready', (u) => request(u).get('/ready'), 200],
    ['/health with a wrong method', (u) => request(u).post('/health'), 405],
    ['/metrics without the secret', (u) => request(u).get('/metrics'), 401],
    ['/metrics', (u) => request(u).get('/metrics').set('Authorization', SECRET), 200],
    ['the admin API, refused', (u) => request(u).get('/api/profiles'), 401],
    ['the admin API', (u) => request(u).get('/api/profiles').set('Authorization', SECRET), 200],
    ['an unknown profile', (u) => request(u).get('/auth/nope/ldap'), 404],
    ['an unknown path', (u) => request(u).get('/no/such/path'), 404],
    ['/ for a browser', (u) => request(u).get('/').set('Accept', 'text/html'), 404],
    ['the LDAP login page', (u) => request(u).get('/auth/ldap/ldap'), 200],
    ['a failed LDAP login (directory down)', (u) => request(u).post('/auth/ldap/ldap').type('form').send({ username: 'u', password: 'some-password' }), 503],
  ];
  it.each(cases)('%s', async (_name, call, status) => {
    const res = await call(broker.url);
    expect(res.status).toBe(status);
    expectBaseHeaders(res);
  });

  it('keeps the Content-Security-Policy a page sets itself (the LDAP form)', async () => {
    const res = await request(broker.url).get('/auth/ldap/ldap');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
  });

  it('are also sent under a host application prefix', async () => {
    expectBaseHeaders(await request(mounted.url).get('/health'));
  });
});

describe('/ without a demo', () => {
  it('shows browsers a 404 page that says what this is and links to the docs', async () => {
    const res = await request(broker.url).get('/').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain('/auth/{profile ID}/{provider}');
    expect(res.text).toMatch(/<a href="https:\/\/[^"]+">/);
    expect(res.text).toContain('name="viewport"');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('answers anything else with the JSON envelope', async () => {
    const res = await request(broker.url).get('/').set('Accept', 'application/json');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ Status: 'error', Error: expect.stringContaining('/auth/') });
    const curl = await request(broker.url).get('/').set('Accept', '*/*');
    expect(curl.status).toBe(404);
    expect(curl.headers['content-type']).toMatch(/^application\/json/);
  });

  it("leaves a host application's own / alone", async () => {
    const host = mounted.url.replace(/\/tib$/, '');
    const res = await request(host).get('/').set('Accept', 'text/html');
    expect(res.text).toBe('host application');
  });
});
