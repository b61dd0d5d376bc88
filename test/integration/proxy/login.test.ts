/**
 * ProxyProvider (issue 10, item 5; docs/tib-behaviour.md §4.3) against a real upstream login service (node:http in this file)
 * and the recording Tyk stub: each gate (status, OKCode, OKResponse, OKRegex, the JSON UsernameField) passes
 * and fails; the user comes from the Basic header (either spelling of TIB's option) or the JSON answer and
 * reaches Tyk with the access token; a redirect is a failure unless OKCode names it; an oversized or slow answer fails cleanly; only allow-listed headers
 * reach the upstream; Basic logins are locked out without reaching it; no password or token is logged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { validateProfile } from '../../../src/profiles/validate.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';
import { FIRST } from '../../support/rules.js';

const CRED = 'dashboard-credential-for-proxy-login';
const ADMIN = 'dashboard-admin-secret-for-proxy-login';
const PASSWORD = 'alice-Secret-pass-42';
const TOKEN = 'upstream-access-token-7f3a9c';
const COOKIE = 'tib-session=broker-own-cookie-value';
/** The admin Secret, which also opens /metrics on the main port. */
const METRICS_SECRET = 'admin-secret-for-proxy-metrics';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The upstream login service: answers by path; records every request it gets. */
let seen: Seen[] = [];
let upstream: http.Server;
let upstreamUrl = '';
let stub: TykStub;
let b: TestBroker;

const basicOk = (req: http.IncomingMessage) => req.headers.authorization === `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;

function answer(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
  const path = (req.url ?? '').split('?')[0];
  const json = (status: number, value: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  switch (path) {
    case '/basic': // 200 for alice's password, 401 otherwise
      return basicOk(req) ? void res.end('welcome') : void res.writeHead(401).end('no');
    case '/json': {
      const sent = JSON.parse(body || '{}') as { username?: string; password?: string };
      if (sent.password !== PASSWORD) return json(200, { ok: false });
      return json(200, { user: { name: `${sent.username}@example.com` }, session: { token: TOKEN } });
    }
    case '/form-login': { // a form post: 200 with the user for the right password, 401 otherwise
      const form = new URLSearchParams(body);
      return form.get('password') === PASSWORD ? json(200, { user: { name: form.get('username') } }) : void res.writeHead(401).end('no');
    }
    case '/json-number-user':
      return json(200, { user: { name: 42 } });
    case '/created':
      return void res.writeHead(basicOk(req) ? 201 : 200).end('done');
    case '/exact':
      return void res.end(basicOk(req) ? '{"ok":true}' : '{"ok":false}');
    case '/regex':
      return json(200, { status: basicOk(req) ? 'Active' : 'locked' });
    case '/form': // a form login: a wrong password is sent back to the form with 302, as many are
      return basicOk(req) ? void res.end('welcome') : void res.writeHead(302, { location: '/login?error=1' }).end();
    case '/moved': // a good password is answered with 302 (OKCode 302 says so), a wrong one with 401
      return basicOk(req) ? void res.writeHead(302, { location: '/home' }).end() : void res.writeHead(401).end('no');
    case '/boom':
      return void res.writeHead(500).end('internal error');
    case '/big': // 2 MiB, chunked (no Content-Length): the bound must hold while reading
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 32; i++) res.write('x'.repeat(64 * 1024));
      return void res.end();
    case '/big-declared':
      return void res.writeHead(200, { 'content-length': String(2 * 1024 * 1024) }).end('x'.repeat(2 * 1024 * 1024));
    case '/slow': {
      const late = setTimeout(() => res.end('too late'), 3000);
      return void res.on('close', () => clearTimeout(late));
    }
    default:
      return void res.writeHead(404).end();
  }
}

function profile(id: string, config: Record<string, unknown>) {
  return {
    ID: id,
    OrgID: 'org-1',
    ActionType: 'GenerateTemporaryAuthToken',
    MatchedPolicyID: 'policy-1',
    ProviderName: 'ProxyProvider',
    ReturnURL: `${stub.url}/app/cb`,
    IdentityHandlerConfig: { DashboardCredential: CRED, TokenAuth: { BaseAPIID: 'api-base', Expires: 600 } },
    ProviderConfig: { ExtractUserNameFromBasicAuthHeader: true, ...config, TargetHost: `${upstreamUrl}${String(config.TargetHost)}` },
  };
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(req, body, res);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  const json = { ExtractUserNameFromBasicAuthHeader: false, ResponseIsJson: true, UsernameField: 'user.name', AccessTokenField: 'session.token' };
  b = await startTestBroker({
    profiles: [
      profile('basic', { TargetHost: '/basic?tenant=acme' }),
      profile('tib-spelling', { TargetHost: '/basic', ExtractUserNameFromBasicAuthHeader: undefined, ExrtactUserNameFromBasicAuthHeader: true }),
      profile('json', { TargetHost: '/json', ...json }),
      profile('json-number-user', { TargetHost: '/json-number-user', ...json }),
      profile('okcode', { TargetHost: '/created', OKCode: 201 }),
      profile('okresponse', { TargetHost: '/exact', OKResponse: Buffer.from('{"ok":true}').toString('base64') }),
      // Go (RE2) syntax: a leading (?i) is a SyntaxError for JavaScript's RegExp.
      profile('okregex', { TargetHost: '/regex', OKRegex: '(?i)"status":\\s*"ACTIVE"' }),
      // Dashboard SSO (/api/sso), as the login an attacker wants.
      { ...profile('form-302', { TargetHost: '/form' }), ActionType: 'GenerateOrLoginUserProfile', ReturnURL: `${stub.url}/sso/` },
      profile('moved-okcode', { TargetHost: '/moved', OKCode: 302 }),
      profile('boom', { TargetHost: '/boom' }),
      profile('big', { TargetHost: '/big' }),
      profile('big-declared', { TargetHost: '/big-declared' }),
      profile('slow', { TargetHost: '/slow', UpstreamTimeout: 500 }),
      profile('redirect', { TargetHost: '/basic', FailureRedirect: 'http://app.example.com/failed' }),
      profile('lock', { TargetHost: '/basic', BruteForce: { UsernameLimit: 3, IPLimit: 0, WindowSeconds: 60, BlockSeconds: 60 } }),
      profile('form-lock', { TargetHost: '/form-login', ExtractUserNameFromBasicAuthHeader: false, ResponseIsJson: true, UsernameField: 'user.name', BruteForce: { UsernameLimit: 3, IPLimit: 5, WindowSeconds: 60, BlockSeconds: 60 } }),
    ],
    config: { Secret: METRICS_SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, Timeout: 2 } },
  });
}, 30_000);

afterAll(async () => {
  await b?.close();
  await stub?.close();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  stub.reset();
});

const login = (id: string, password = PASSWORD) => request(b.url).post(`/auth/${id}/proxy`).auth('alice', password);
/** The user and access token the key was made for, from the stub's POST /api/keys. */
const keyMeta = () => {
  const keys = stub.requests.filter((r) => r.path === '/api/keys');
  expect(keys).toHaveLength(1);
  return (keys[0]?.body as { meta_data: Record<string, string> }).meta_data;
};
const REFUSED = { status: 401, body: { Status: 'error', Error: 'Authentication Failed' } };
const expectLoggedIn = (res: request.Response) => {
  expect(res.status).toBe(302);
  expect(res.headers.location).toMatch(new RegExp(`^${stub.url}/app/cb#token=`));
};

describe('credentials from the Basic header', () => {
  it('the upstream accepts: the Basic user logs in (ExtractUserNameFromBasicAuthHeader)', async () => {
    expectLoggedIn(await login('basic'));
    expect(keyMeta()).toMatchObject({ AuthProviderUserID: 'alice', AuthProviderSource: 'ProxyProvider', AccessToken: '' });
  });

  it("TIB's misspelt ExrtactUserNameFromBasicAuthHeader works the same", async () => {
    expectLoggedIn(await login('tib-spelling'));
    expect(keyMeta().AuthProviderUserID).toBe('alice');
  });

  it('the upstream refuses (4xx): 401 Authentication Failed, no key', async () => {
    expect(await login('basic', 'wrong')).toMatchObject(REFUSED);
    expect(stub.requests).toHaveLength(0);
  });

  it('a failure goes to the FailureRedirect when the profile has one', async () => {
    const res = await login('redirect', 'wrong');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('http://app.example.com/failed');
  });
});

describe('what reaches the upstream', () => {
  it('method, body, TargetHost path and query then the incoming query; only allow-listed headers', async () => {
    const res = await request(b.url)
      .post('/auth/basic/proxy?lang=en')
      .auth('alice', PASSWORD)
      .set('Cookie', COOKIE)
      .set('X-Forwarded-For', '203.0.113.66')
      .set('X-Forwarded-Host', 'evil.example')
      .set('X-Custom', 'nope')
      .set('Accept-Language', 'de')
      .set('User-Agent', 'proxy-test-agent')
      .send({ remember: true });
    expectLoggedIn(res);
    expect(seen).toHaveLength(1);
    const got = seen[0] as Seen;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/basic?tenant=acme&lang=en');
    expect(got.body).toBe('{"remember":true}');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers.authorization).toBe(`Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`);
    expect(got.headers['accept-language']).toBe('de');
    expect(got.headers['user-agent']).toBe('proxy-test-agent');
    expect(got.headers.cookie).toBeUndefined();
    expect(got.headers['x-custom']).toBeUndefined();
    expect(got.headers['x-forwarded-host']).toBeUndefined();
    // The broker's own view of the client (no trusted proxies here: the socket peer), not the client's claim.
    expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('a form body is passed on as a form', async () => {
    expectLoggedIn(await request(b.url).post('/auth/basic/proxy').auth('alice', PASSWORD).type('form').send({ a: '1', b: 'x y' }));
    expect(seen[0]?.body).toBe('a=1&b=x+y');
    expect(seen[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('a request body over 64 KiB is refused (413) without an upstream call', async () => {
    const res = await request(b.url).post('/auth/basic/proxy').auth('alice', PASSWORD).type('text/plain').send('x'.repeat(65 * 1024));
    expect(res.status).toBe(413);
    expect(seen).toHaveLength(0);
  });
});

describe('the gates, in TIB order', () => {
  it('OKCode: 201 passes, 200 fails', async () => {
    expectLoggedIn(await login('okcode'));
    expect(await login('okcode', 'wrong')).toMatchObject(REFUSED);
  });

  it('OKResponse: the exact body passes, another fails', async () => {
    expectLoggedIn(await login('okresponse'));
    expect(await login('okresponse', 'wrong')).toMatchObject(REFUSED);
  });

  it('OKRegex (Go syntax, case-insensitive flag): a match passes, none fails', async () => {
    expectLoggedIn(await login('okregex'));
    expect(await login('okregex', 'wrong')).toMatchObject(REFUSED);
  });

  it('a redirect (3xx) with no OKCode, OKResponse or OKRegex is a failed login, and no SSO call reaches Tyk (TIB: a success)', async () => {
    expect(await login('form-302', 'WRONG')).toMatchObject(REFUSED);
    expect(seen.map((s) => s.url)).toEqual(['/form']);
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(0);
    expect(stub.requests).toHaveLength(0);
    // The right password (200) still logs in, through /api/sso.
    expect((await login('form-302')).status).toBe(302);
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(1);
  });

  it('a redirect passes when OKCode names it', async () => {
    expectLoggedIn(await login('moved-okcode'));
    expect(await login('moved-okcode', 'wrong')).toMatchObject(REFUSED);
  });

  it('a profile that checks only the status is named at WARN once when it is loaded; one with OKCode, OKResponse or OKRegex is not', () => {
    const warned = (id: string) => b.logs.filter((l) => l.includes('[WARN]') && l.includes(`profile "${id}": only the upstream's status is checked`));
    expect(warned('form-302')).toHaveLength(1);
    for (const id of ['okcode', 'okresponse', 'okregex', 'moved-okcode']) expect(warned(id)).toEqual([]);
  });

  it('a 5xx upstream is an upstream error: 502, never relayed', async () => {
    const res = await login('boom');
    expect(res.status).toBe(502);
    expect(res.text).not.toContain('internal error');
  });
});

describe('credentials and user from the JSON answer', () => {
  const jsonLogin = (password: string) => request(b.url).post('/auth/json/proxy').send({ username: 'bob', password });

  it('UsernameField and AccessTokenField (dot paths) give the user and the token Tyk gets', async () => {
    expectLoggedIn(await jsonLogin(PASSWORD));
    expect(keyMeta()).toMatchObject({ AuthProviderUserID: 'bob@example.com', AccessToken: TOKEN });
  });

  it('an answer without the username fails with a clear reason (TIB would invent a random user)', async () => {
    const res = await jsonLogin('wrong');
    expect(res.status).toBe(502);
    expect(stub.requests).toHaveLength(0);
    expect(b.logs.some((l) => l.includes('no non-empty string at UsernameField \\"user.name\\"') || l.includes('no non-empty string at UsernameField "user.name"'))).toBe(true);
  });

  it('a username that is not a string fails', async () => {
    expect((await request(b.url).post('/auth/json-number-user/proxy').send({})).status).toBe(502);
    expect(stub.requests).toHaveLength(0);
  });
});

describe('bounded answers', () => {
  it('an answer over 1 MiB (chunked) fails cleanly with 502', async () => {
    const res = await login('big');
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ Status: 'error', Error: 'Login failed' });
  });

  it('an answer declaring over 1 MiB fails cleanly with 502', async () => {
    expect((await login('big-declared')).status).toBe(502);
  });

  it('each upstream call is timed in /metrics (target upstream), a timeout as an outbound error', async () => {
    const sample = async (labels: string) => {
      const text = (await request(b.url).get('/metrics').set('Authorization', METRICS_SECRET)).text;
      const line = text.split('\n').find((l) => l.startsWith(`tib_outbound_request_seconds_count{${labels}}`));
      return Number(line?.split(' ').pop() ?? 0);
    };
    const ok = 'target="upstream",operation="login",outcome="ok"';
    const failed = 'target="upstream",operation="login",outcome="error"';
    const [okBefore, failedBefore] = [await sample(ok), await sample(failed)];
    expect((await login('basic')).status).toBe(302);
    expect((await login('basic', 'wrong')).status).toBe(401);
    expect((await login('slow')).status).toBe(504);
    expect((await sample(ok)) - okBefore).toBe(2);
    expect((await sample(failed)) - failedBefore).toBe(1);
  });

  it('a slow upstream fails with 504 after UpstreamTimeout', async () => {
    const res = await login('slow');
    expect(res.status).toBe(504);
    expect(stub.requests).toHaveLength(0);
  });
});

describe('brute-force protection of Basic logins', () => {
  it('after 3 refused passwords the next attempt is refused without reaching the upstream, even with the right password', async () => {
    for (let i = 0; i < 3; i++) expect(await login('lock', `wrong-${i}`)).toMatchObject(REFUSED);
    expect(seen).toHaveLength(3);
    expect(await login('lock')).toMatchObject(REFUSED);
    expect(seen).toHaveLength(3);
    expect(b.logs.some((l) => l.includes('[WARN] PROXY PROVIDER: locked out'))).toBe(true);
  });

  // Issue 17, finding 5: form logins (no Basic header) reached the upstream without limit.
  it('form logins count too: under the name the form gives (pair and user), else against the address', async () => {
    const post = (form: Record<string, string>) => request(b.url).post('/auth/form-lock/proxy').type('form').send(form);
    expect((await post({ username: 'bob', password: PASSWORD })).status).toBe(302);
    seen = [];
    for (let i = 0; i < 10; i++) expect((await post({ username: 'alice', password: `wrong-${i}` })).status).toBe(401);
    expect(seen).toHaveLength(3);
    // A form that names nobody the broker can read: the address's budget (IPLimit 5, 3 used by alice's guesses).
    for (let i = 0; i < 5; i++) expect((await post({ pass: `wrong-${i}`, password: `wrong-${i}` })).status).toBe(401);
    expect(seen).toHaveLength(5);
  });
});

describe('configuration', () => {
  const base = { ID: 'p', OrgID: 'o', ActionType: 'GenerateOrLoginUserProfile', ProviderName: 'ProxyProvider' };
  const problems = (ProviderConfig: Record<string, unknown>) =>
    validateProfile({ ...base, ProviderConfig: { TargetHost: 'http://127.0.0.1/x', ...ProviderConfig } }, FIRST).problems.map((p) => `${p.field}: ${p.message}`);

  it('refuses a profile with no username source, naming the field', () => {
    expect(problems({})).toEqual(['ProviderConfig.UsernameField: no username source: set UsernameField (with ResponseIsJson) or ExtractUserNameFromBasicAuthHeader']);
  });

  it('refuses settings that could never let anybody in', () => {
    const src = { ExtractUserNameFromBasicAuthHeader: true };
    expect(problems({ ...src, OKCode: 401 })[0]).toMatch(/^ProviderConfig.OKCode: /);
    expect(problems({ ...src, OKResponse: 'not base64!' })[0]).toMatch(/^ProviderConfig.OKResponse: /);
    expect(problems({ ...src, OKRegex: '(' })[0]).toMatch(/^ProviderConfig.OKRegex: /);
    expect(problems({ ...src, UsernameField: 'user' })[0]).toMatch(/^ProviderConfig.UsernameField: .*ResponseIsJson/);
    expect(problems({ ...src, ExrtactUserNameFromBasicAuthHeader: false })[0]).toMatch(/^ProviderConfig.ExtractUserNameFromBasicAuthHeader: contradicts/);
    expect(problems(src)).toEqual([]);
  });
});

describe('logs', () => {
  it('hold no password, no access token, no cookie', async () => {
    await login('basic');
    await login('basic', 'wrong');
    await request(b.url).post('/auth/json/proxy').send({ username: 'bob', password: PASSWORD });
    await request(b.url).post('/auth/basic/proxy').auth('alice', PASSWORD).set('Cookie', COOKIE);
    const all = b.logs.join('\n');
    expect(all).toContain('PROXY PROVIDER');
    for (const secret of [PASSWORD, TOKEN, 'broker-own-cookie-value', Buffer.from(`alice:${PASSWORD}`).toString('base64')]) expect(all).not.toContain(secret);
  });
});
