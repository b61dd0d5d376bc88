/**
 * SAML single logout with two replicas sharing a real redis-server (issue 21, item 4): a logout started on one
 * broker is finished by the other (nothing is stored for the LogoutRequest: its ID is derived from the state with
 * the shared session secret; the flow cookie is sealed), and an answer or an IdP-initiated request accepted by one
 * is a replay on the other (the replay marks on Redis). The xmlsec1 template IdP (test/support/saml-idp.ts).
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { samlLogin } from '../../support/saml-driver.js';
import { makeSamlKeys, samlProfile, startTestIdp, type SamlKeys, type TestIdp } from '../../support/saml-idp.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dash-cred-saml-logout-redis';
const ADMIN = 'admin-secret-saml-logout-redis';
const BYE = 'http://app.example/signed-out';
let keys: SamlKeys;
let idp: TestIdp;
let stub: TykStub;
let redis: TestRedis;
const pair: TestBroker[] = [];
let first: string;

beforeAll(async () => {
  keys = await makeSamlKeys();
  [idp, stub, redis] = await Promise.all([startTestIdp({ keys, slo: ['redirect'] }), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN }), startRedis()]);
  const port = await freePort();
  first = `http://127.0.0.1:${port}`;
  // Both replicas publish the same SAMLBaseURL (the first one's), as replicas behind one public name do.
  const profiles = [samlProfile({ id: 'shared', idp, baseUrl: `${first}/`, returnUrl: `${stub.url}/portal/sso/`, credential: CRED, profile: { LogoutRedirectURLs: [BYE] } })].map((x) => JSON.parse(JSON.stringify(x)) as unknown);
  const config = {
    SessionSecret: 'session-secret-for-the-saml-logout-replicas-0123',
    BackEnd: { Name: 'redis' as const, KeyPrefix: 'saml-slo-replicas:', IdentityBackendSettings: { Addrs: [`127.0.0.1:${redis.port}`] } },
    TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } },
  };
  pair.push(await startTestBroker({ port, profiles, config }), await startTestBroker({ profiles, config }));
}, 60_000);

afterAll(async () => {
  await Promise.all(pair.map((b) => b.close()));
  await Promise.all([idp?.close(), stub?.close(), redis?.stop()]);
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
});

const slo = () => `${first}/auth/shared/saml/slo`;
/** The same URL on the second replica, with the browser's cookies for the public name. */
const onSecond = (url: string, jar: CookieJar) => fetch(url.replace(first, pair[1]?.url ?? ''), { redirect: 'manual', headers: { cookie: jar.header(first) } });

async function signedIn(): Promise<CookieJar> {
  const jar = new CookieJar();
  const { res } = await samlLogin(first, 'shared', jar);
  expect(res.headers.get('location')).toContain('/portal/sso/?nonce=');
  return jar;
}

const startLogout = async (jar: CookieJar) => (await fetchWithJar(`${first}/auth/shared/logout?return_to=${encodeURIComponent(BYE)}`, jar)).headers.get('location') ?? '';

describe('two brokers sharing Redis', () => {
  it('a logout started on one broker is finished by the other; its answer is then refused on both', async () => {
    const jar = await signedIn();
    const toIdp = await startLogout(jar);
    expect(toIdp).toContain(idp.sloRedirectUrl);
    const answer = (await fetchWithJar(toIdp, jar)).headers.get('location') ?? '';
    expect(answer.startsWith(`${slo()}?SAMLResponse=`)).toBe(true);
    const done = await onSecond(answer, jar);
    expect(done.headers.get('location')).toBe(BYE);
    expect((await onSecond(answer, jar)).status).toBeGreaterThanOrEqual(400);
    expect((await fetchWithJar(answer, jar)).status).toBeGreaterThanOrEqual(400);
  });

  it('an IdP-initiated LogoutRequest on one broker drops the login kept by the other, and is a replay there', async () => {
    const jar = await signedIn();
    const m = await idp.logoutRequest({ destination: slo(), binding: 'redirect' });
    const answer = await onSecond(m.url ?? '', new CookieJar());
    expect(answer.headers.get('location')).toContain(`${idp.sloRedirectUrl}?SAMLResponse=`);
    const replay = await fetchWithJar(m.url ?? '', new CookieJar());
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.headers.get('location')).toBeNull();
    // The login was dropped on Redis: the first broker's sign-out goes straight on.
    expect(await startLogout(jar)).toBe(BYE);
  });
});
