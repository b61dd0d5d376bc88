/**
 * TLS trust for a SocialProvider profile's calls to its identity providers (issue 8 item 2), against an
 * OpenID Provider and a github-style OAuth server served over HTTPS with a test CA: refused with the system
 * roots; trusted with the profile's ProviderConfig.CAFile for discovery, token, JWKS and userinfo (and the
 * preset's token and user calls); trusted by the top-level SSLInsecureSkipVerify, as in TIB, with a warning
 * naming the profile; an unreadable CAFile is a setup error naming profile and field.
 */
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Agent } from 'undici';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { freePort } from '../../support/slapd.js';
import { makeTestCa, type TestCa } from '../../support/test-ca.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-tls-tests';
const ADMIN = 'dashboard-admin-secret-for-tls-tests';
const CLIENT_SECRET = 'tls-client-secret-0123456789';
const SESSION_SECRET = 'session-secret-for-tls-tests-0123456789';
const OIDC_PROFILES = ['system-roots', 'with-ca', 'wrong-ca', 'insecure'];

let dir: string;
let ca: TestCa;
let otherCa: TestCa;
let op: TestOp;
let stub: TykStub;
let github: { url: string; paths: string[]; close(): Promise<void> };
let broker: TestBroker;
let insecure: TestBroker;
let base: string;
let insecureBase: string;
/** The test's browser trusts the test CA, to sign in at the OP's HTTPS pages. */
let browser: Agent;

const dashboard = () => ({ Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN });

function tlsProfile(id: string, callbackBase: string, providerConfig: Record<string, unknown> = {}) {
  return oidcProfile({ id, discoveryUrl: op.discoveryUrl, callbackBase, returnUrl: `${stub.url}/tap`, credential: CRED, key: 'broker', secret: CLIENT_SECRET, scopes: ['openid', 'email', 'profile'], providerConfig });
}

function githubProfile(id: string, providerConfig: Record<string, unknown> = {}) {
  const g = github.url;
  return {
    ...tlsProfile(id, 'http://127.0.0.1:1'),
    ProviderConfig: {
      CallbackBaseURL: 'http://127.0.0.1:1',
      UseProviders: [{ Name: 'github', Key: 'gh-client', Secret: 'gh-secret', AuthURL: `${g}/authorize`, TokenURL: `${g}/token`, ProfileURL: `${g}/user`, EmailURL: `${g}/emails` }],
      ...providerConfig,
    },
  };
}

/** A github-style OAuth server over HTTPS: token, user and emails endpoints. */
async function startGithub(tls: TestCa): Promise<typeof github> {
  const paths: string[] = [];
  const server = https.createServer({ cert: fs.readFileSync(tls.serverCert), key: fs.readFileSync(tls.serverKey) }, (req, res) => {
    paths.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.url === '/token') res.end(JSON.stringify({ access_token: 'gh-access-token', token_type: 'bearer' }));
    else if (req.url === '/user') res.end(JSON.stringify({ id: 4242, login: 'octo', name: 'Octo Cat', email: null }));
    else res.end(JSON.stringify([{ email: 'octo@example.com', primary: true, verified: true }]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function oidcLogin(brokerUrl: string, id: string): Promise<Response> {
  const jar = new CookieJar();
  const start = await fetchWithJar(`${brokerUrl}/auth/${id}/openid-connect`, jar);
  if (start.status !== 302) return start;
  const callback = await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', `${brokerUrl}/auth/${id}/openid-connect/callback`, { dispatcher: browser } as RequestInit);
  return fetchWithJar(callback, jar);
}

/** The github flow: the broker's redirect gives the state; the code is made up, as the stub takes any. */
async function githubLogin(brokerUrl: string, id: string): Promise<Response> {
  const jar = new CookieJar();
  const start = await fetchWithJar(`${brokerUrl}/auth/${id}/github`, jar);
  expect(start.status).toBe(302);
  const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
  return fetchWithJar(`${brokerUrl}/auth/${id}/github/callback?code=c0de&state=${state}`, jar);
}

function expectSignedIn(res: Response, email: string) {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toMatch(new RegExp(`^${stub.url}/tap\\?nonce=`));
  expect(stub.requests.find((r) => r.path === '/api/sso')?.body).toMatchObject({ EmailAddress: email });
}

function expectFailed(res: Response, id: string, reason: RegExp) {
  expect(res.status).toBe(400);
  expect(stub.requests.filter((r) => r.path === '/api/sso')).toHaveLength(0);
  expect(broker.logs.some((l) => l.includes('login failed') && l.includes(`profile="${id}"`) && reason.test(l))).toBe(true);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-tls-'));
  ca = makeTestCa(dir, 'idp');
  otherCa = makeTestCa(dir, 'other');
  browser = new Agent({ connect: { ca: fs.readFileSync(ca.caCert) } });
  const [port, insecurePort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  insecureBase = `http://127.0.0.1:${insecurePort}`;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  github = await startGithub(ca);
  op = await startTestOp({
    redirectUris: OIDC_PROFILES.flatMap((id) => [base, insecureBase].map((b) => `${b}/auth/${id}/openid-connect/callback`)),
    clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET }],
    tls: { cert: ca.serverCert, key: ca.serverKey },
  });
  broker = await startTestBroker({
    port,
    config: { SessionSecret: SESSION_SECRET, TykAPISettings: { DashboardConfig: dashboard() } },
    profiles: [
      tlsProfile('system-roots', base),
      tlsProfile('with-ca', base, { CAFile: ca.caCert }),
      tlsProfile('wrong-ca', base, { CAFile: otherCa.caCert }),
      tlsProfile('missing-ca', base, { CAFile: path.join(dir, 'missing-ca.pem') }),
      githubProfile('github-system-roots'),
      githubProfile('github-with-ca', { CAFile: ca.caCert }),
    ],
  });
  insecure = await startTestBroker({
    port: insecurePort,
    config: { SessionSecret: SESSION_SECRET, SSLInsecureSkipVerify: true, TykAPISettings: { DashboardConfig: dashboard() } },
    profiles: [tlsProfile('insecure', insecureBase), githubProfile('github-insecure')],
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await insecure?.close();
  await op?.close();
  await github?.close();
  await stub?.close();
  await browser?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  stub.reset();
  github.paths.length = 0;
});

describe('an OpenID Provider over HTTPS with a test CA', () => {
  it('is refused with the system roots: discovery fails the certificate check', async () => {
    expectFailed(await oidcLogin(base, 'system-roots'), 'system-roots', /OpenID discovery from https:.*fetch failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  it('is refused with a CAFile of another CA', async () => {
    expectFailed(await oidcLogin(base, 'wrong-ca'), 'wrong-ca', /OpenID discovery from https:.*fetch failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  it("signs in with the profile's CAFile: discovery, token, JWKS and userinfo all over verified TLS", async () => {
    const jwksBefore = op.jwksRequests;
    expectSignedIn(await oidcLogin(base, 'with-ca'), 'alice@example.com');
    expect(op.jwksRequests).toBeGreaterThan(jwksBefore);
    expect(op.tokenRequests.at(-1)?.status).toBe(200);
  });

  it('signs in with SSLInsecureSkipVerify, as TIB does, and says so per profile at setup', async () => {
    expectSignedIn(await oidcLogin(insecureBase, 'insecure'), 'alice@example.com');
    for (const id of ['insecure', 'github-insecure']) {
      expect(insecure.logs.some((l) => /WARN/.test(l) && l.includes(`profile "${id}": SSLInsecureSkipVerify is true`) && l.includes('NOT verified'))).toBe(true);
    }
    // Nothing of the kind for the verifying broker's profiles (the log capture sees both brokers).
    expect(broker.logs.some((l) => /profile "(with-ca|system-roots)": SSLInsecureSkipVerify/.test(l))).toBe(false);
  });

  it('refuses a profile whose CAFile cannot be read, naming the profile and the field', async () => {
    expect(broker.logs.some((l) => l.includes('profile cannot be used') && l.includes('missing-ca') && /ProviderConfig\.CAFile .*missing-ca\.pem cannot be read: ENOENT/.test(l))).toBe(true);
    expect((await fetch(`${base}/auth/missing-ca/openid-connect`, { redirect: 'manual' })).status).not.toBe(302);
  });
});

describe('a social preset over HTTPS with a test CA', () => {
  it('is refused with the system roots', async () => {
    expectFailed(await githubLogin(base, 'github-system-roots'), 'github-system-roots', /token endpoint unreachable: .*UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(github.paths).toEqual([]);
  });

  it("signs in with the profile's CAFile and with SSLInsecureSkipVerify", async () => {
    expectSignedIn(await githubLogin(base, 'github-with-ca'), 'octo@example.com');
    expect(github.paths).toEqual(['/token', '/user', '/emails']);
    stub.reset();
    expectSignedIn(await githubLogin(insecureBase, 'github-insecure'), 'octo@example.com');
  });
});
