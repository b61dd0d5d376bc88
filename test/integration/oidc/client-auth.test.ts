/**
 * Client authentication at the OIDC token endpoint as TIB's Go client (golang.org/x/oauth2) does it
 * (issue 8 item 1), against a real OpenID Provider: Basic credentials escaped like Go's url.QueryEscape, so a
 * token endpoint that does not percent-decode them still sees `broker-client_1.x~y`; on invalid_client, one
 * retry with the credentials in the body, remembered for the next logins; the one method discovery lists,
 * honoured without a fallback. Also bitbucket's Basic credentials, escaped the same way.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-client-auth-tests';
const ADMIN = 'dashboard-admin-secret-for-client-auth-tests';
const SESSION_SECRET = 'session-secret-for-client-auth-tests-0123';
/** Every character Go leaves alone besides letters and digits: openid-client would escape each of them. */
const DOTTED_ID = 'broker-client_1.x~y';
const DOTTED_SECRET = 'dotted-client-secret-0123456789';
/** A secret with characters Go escapes (%2F, %2B, %3D): a token endpoint comparing raw credentials refuses it. */
const ESCAPED_ID = 'broker-escaped';
const ESCAPED_SECRET = 'escaped/secret+with=chars-0123456789';
const PROFILES = ['dotted', 'dotted-raw', 'escaped', 'escaped-raw', 'only-post', 'only-basic-raw'];

let op: TestOp;
let stub: TykStub;
let broker: TestBroker;
let base: string;

const callbackOf = (id: string) => `${base}/auth/${id}/openid-connect/callback`;

function profile(id: string, key: string, secret: string) {
  return oidcProfile({ id, discoveryUrl: op.discoveryUrl, callbackBase: base, returnUrl: `${stub.url}/tap`, credential: CRED, key, secret });
}

async function login(id: string): Promise<Response> {
  const jar = new CookieJar();
  const start = await fetchWithJar(`${base}/auth/${id}/openid-connect`, jar);
  expect(start.status).toBe(302);
  const callback = await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', callbackOf(id));
  return fetchWithJar(callback, jar);
}

function expectSignedIn(res: Response) {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toMatch(new RegExp(`^${stub.url}/tap\\?nonce=`));
  expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(1);
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  op = await startTestOp({
    redirectUris: PROFILES.map(callbackOf),
    clients: [
      { client_id: DOTTED_ID, client_secret: DOTTED_SECRET },
      { client_id: ESCAPED_ID, client_secret: ESCAPED_SECRET },
    ],
  });
  broker = await startTestBroker({
    port,
    config: { SessionSecret: SESSION_SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [
      profile('dotted', DOTTED_ID, DOTTED_SECRET),
      profile('dotted-raw', DOTTED_ID, DOTTED_SECRET),
      profile('escaped', ESCAPED_ID, ESCAPED_SECRET),
      profile('escaped-raw', ESCAPED_ID, ESCAPED_SECRET),
      profile('only-post', ESCAPED_ID, ESCAPED_SECRET),
      profile('only-basic-raw', ESCAPED_ID, ESCAPED_SECRET),
    ],
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await op?.close();
  await stub?.close();
});

beforeEach(() => {
  stub.reset();
  op.tokenRequests = [];
});

afterEach(() => {
  op.rawBasicAuth = false;
  op.authMethods = undefined;
});

describe('client_secret_basic escaped as Go does', () => {
  it('sends a client id with - _ . ~ unescaped, which a decoding token endpoint accepts', async () => {
    expectSignedIn(await login('dotted'));
    expect(op.tokenRequests).toEqual([{ auth: 'basic', basicUser: DOTTED_ID, status: 200 }]);
  });

  it('signs in at a token endpoint that compares Basic credentials without decoding them, with one request', async () => {
    op.rawBasicAuth = true;
    expectSignedIn(await login('dotted-raw'));
    expect(op.tokenRequests).toEqual([{ auth: 'basic', basicUser: DOTTED_ID, status: 200 }]);
  });

  it('escapes / + = in the secret, which a decoding token endpoint decodes', async () => {
    expectSignedIn(await login('escaped'));
    expect(op.tokenRequests).toEqual([{ auth: 'basic', basicUser: ESCAPED_ID, status: 200 }]);
  });
});

describe("Go's AuthStyleAutoDetect", () => {
  it('retries once with client_secret_post when the endpoint answers invalid_client, and goes straight to post next time', async () => {
    op.rawBasicAuth = true;
    expectSignedIn(await login('escaped-raw'));
    expect(op.tokenRequests).toEqual([
      { auth: 'basic', basicUser: ESCAPED_ID, status: 401 },
      { auth: 'body', status: 200 },
    ]);
    expect(broker.logs.some((l) => l.includes('profile "escaped-raw"') && l.includes('refused client_secret_basic (invalid_client)'))).toBe(true);
    expect(broker.logs.some((l) => l.includes('profile "escaped-raw"') && l.includes('accepts client_secret_post; using it from now on'))).toBe(true);

    stub.reset();
    op.tokenRequests = [];
    expectSignedIn(await login('escaped-raw'));
    expect(op.tokenRequests).toEqual([{ auth: 'body', status: 200 }]);
    expect(broker.logs.join('\n')).not.toContain(ESCAPED_SECRET);
  });

  it('uses client_secret_post alone when discovery lists only it', async () => {
    op.authMethods = ['client_secret_post'];
    expectSignedIn(await login('only-post'));
    expect(op.tokenRequests).toEqual([{ auth: 'body', status: 200 }]);
  });

  it('uses client_secret_basic alone when discovery lists only it: no fallback, the login fails', async () => {
    op.authMethods = ['client_secret_basic'];
    op.rawBasicAuth = true;
    const res = await login('only-basic-raw');
    expect(res.status).toBe(400);
    expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(0);
    expect(op.tokenRequests).toEqual([{ auth: 'basic', basicUser: ESCAPED_ID, status: 401 }]);
    expect(broker.logs.some((l) => l.includes('login failed') && l.includes('token exchange') && l.includes('error=invalid_client'))).toBe(true);
  });
});

describe('bitbucket (HTTP Basic only)', () => {
  it("escapes the client's credentials as Go's url.QueryEscape: space as +, ! * ' ( ) as %XX", async () => {
    const seen: string[] = [];
    const idp = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/token') {
        seen.push(Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8'));
        res.end(JSON.stringify({ access_token: 'bitbucket-access-token', token_type: 'bearer' }));
      } else if (req.url === '/user') {
        res.end(JSON.stringify({ uuid: '{u-1}', display_name: 'Erik E', username: 'erik' }));
      } else {
        res.end(JSON.stringify({ values: [{ is_primary: true, is_confirmed: true, email: 'erik@example.com' }] }));
      }
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const idpUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    const bb = await startTestBroker({
      config: { SessionSecret: SESSION_SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: [
        {
          ...profile('bb', 'x', 'x'),
          ProviderConfig: {
            CallbackBaseURL: 'http://127.0.0.1:1',
            UseProviders: [{ Name: 'bitbucket', Key: "bb-client_1.x~y!*'()", Secret: 'a secret/with+=', AuthURL: `${idpUrl}/authorize`, TokenURL: `${idpUrl}/token`, ProfileURL: `${idpUrl}/user`, EmailURL: `${idpUrl}/emails` }],
          },
        },
      ],
    });
    try {
      const jar = new CookieJar();
      const start = await fetchWithJar(`${bb.url}/auth/bb/bitbucket`, jar);
      const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
      const res = await fetchWithJar(`${bb.url}/auth/bb/bitbucket/callback?code=c0de&state=${state}`, jar);
      expect(res.status).toBe(302);
      expect(seen).toEqual(['bb-client_1.x~y%21%2A%27%28%29:a+secret%2Fwith%2B%3D']);
    } finally {
      await bb.close();
      await new Promise<void>((resolve) => idp.close(() => resolve()));
    }
  });
});

describe('token endpoints refusing Basic credentials as real servers do', () => {
  const CRED = 'dashboard-credential-for-review-tests';
  const ADMIN = 'dashboard-admin-secret-for-review-tests';
  const CLIENT = 'review-client';
  const CLIENT_SECRET = 'review-client-secret-0123456789';
  const IDS = ['plain-401', 'challenge-401', 'html-400', 'invalid-request', 'consumed'];
  let op: TestOp;
  let stub: TykStub;
  let broker: TestBroker;
  let base: string;
  const callbackOf = (id: string) => `${base}/auth/${id}/openid-connect/callback`;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
    op = await startTestOp({ redirectUris: IDS.map(callbackOf), clients: [{ client_id: CLIENT, client_secret: CLIENT_SECRET }] });
    broker = await startTestBroker({
      port,
      config: { SessionSecret: 'session-secret-for-review-tests-0123456', TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: IDS.map((id) => oidcProfile({ id, discoveryUrl: op.discoveryUrl, callbackBase: base, returnUrl: `${stub.url}/tap`, credential: CRED, key: CLIENT, secret: CLIENT_SECRET })),
    });
  }, 60_000);

  afterAll(async () => {
    await broker?.close();
    await op?.close();
    await stub?.close();
  });

  beforeEach(() => {
    stub.reset();
    op.tokenRequests = [];
  });
  afterEach(() => {
    op.tokenAnswer = undefined;
  });

  async function login(id: string): Promise<Response> {
    const jar = new CookieJar();
    const start = await fetchWithJar(`${base}/auth/${id}/openid-connect`, jar);
    expect(start.status).toBe(302);
    return fetchWithJar(await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', callbackOf(id)), jar);
  }
  const signedIn = (res: Response) => [res.status, stub.requests.filter((r) => r.path === '/api/sso').length];

  // RFC 6749 5.2: 401 is the answer to failed client authentication; Go's auto-detect retries on any error.
  it('retries with client_secret_post after a 401 with neither a challenge nor a JSON body', async () => {
    op.tokenAnswer = (auth) => (auth === 'basic' ? { status: 401, headers: { 'content-type': 'text/plain' }, body: 'Unauthorized' } : undefined);
    expect(signedIn(await login('plain-401'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 401], ['body', 200]]);
  });

  it('retries with client_secret_post after a 401 with a Basic challenge and an empty body', async () => {
    op.tokenAnswer = (auth) => (auth === 'basic' ? { status: 401, headers: { 'www-authenticate': 'Basic realm="token"' }, body: '' } : undefined);
    expect(signedIn(await login('challenge-401'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 401], ['body', 200]]);
  });

  it('retries with client_secret_post after 400 invalid_client sent as text/html', async () => {
    op.tokenAnswer = (auth) => (auth === 'basic' ? { status: 400, headers: { 'content-type': 'text/html;charset=utf-8' }, body: '{"error":"invalid_client"}' } : undefined);
    expect(signedIn(await login('html-400'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 400], ['body', 200]]);
  });

  it('does not retry after 400 invalid_request', async () => {
    op.tokenAnswer = (auth) => (auth === 'basic' ? { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_request"}' } : undefined);
    expect(signedIn(await login('invalid-request'))).toEqual([400, 0]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 400]]);
  });

  // An endpoint that spends the code before checking the client: the retry is refused with invalid_grant, which
  // means the client authentication itself was accepted, so the next login goes straight to the body.
  it('after invalid_client then invalid_grant (the code already spent), the next login uses client_secret_post at once', async () => {
    let bodyRefusals = 1;
    op.tokenAnswer = (auth) => {
      if (auth === 'basic') return { status: 401, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_client"}' };
      if (bodyRefusals-- > 0) return { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_grant"}' };
      return undefined;
    };
    expect(signedIn(await login('consumed'))).toEqual([400, 0]);
    stub.reset();
    op.tokenRequests = [];
    expect(signedIn(await login('consumed'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['body', 200]]);

    // The IdP now refuses the body: that login fails, and the next one detects again (Basic works now).
    op.tokenAnswer = (auth) => (auth === 'body' ? { status: 401, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_client"}' } : undefined);
    stub.reset();
    op.tokenRequests = [];
    expect(signedIn(await login('consumed'))).toEqual([400, 0]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['body', 401]]);
    op.tokenAnswer = undefined;
    op.tokenRequests = [];
    expect(signedIn(await login('consumed'))).toEqual([302, 1]);
    expect(op.tokenRequests.map((r) => [r.auth, r.status])).toEqual([['basic', 200]]);
  });
});
