/**
 * Issue 17, finding 5, against a real slapd whose filter accepts an alias (uid or mail) and whose bind counter
 * shows whether a refused attempt reached the directory: the guard counts the directory entry (its DN), not
 * what was typed; it locks the (user, client) pair, and the user as a whole only for clients that have not
 * proven the password (a device cookie, state/device-cookie.ts), at UsernameLimit x USER_LIMIT_FACTOR.
 * Clients are told apart by X-Forwarded-For from a trusted proxy (the test's loopback address).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { USER_LIMIT_FACTOR } from '../../../src/state/brute-force.js';
import { DEVICE_COOKIE } from '../../../src/state/device-cookie.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { ldapProfile, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-canonical-lockout';
const ADMIN = 'dashboard-admin-secret-for-canonical-lockout';
const LIMIT = 2;

let slapd: Slapd;
let stub: TykStub;
let b: TestBroker;

beforeAll(async () => {
  [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
  const bruteForce = { UsernameLimit: LIMIT, IPLimit: 0, WindowSeconds: 300, BlockSeconds: 300 };
  const profile = (id: string) =>
    ldapProfile(slapd, { id, returnUrl: `${stub.url}/tap`, credential: CRED, providerConfig: { LDAPFilter: '(&(objectClass=inetOrgPerson)(|(uid=*USERNAME*)(mail=*USERNAME*)))', BruteForce: bruteForce } });
  b = await startTestBroker({
    profiles: [profile('alias'), profile('pairs'), profile('devices')],
    config: {
      TrustedProxies: ['127.0.0.0/8'],
      SessionSecret: 'session-secret-for-device-cookies-0123456789',
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, Timeout: 2 },
    },
  });
}, 60_000);
afterAll(async () => {
  await b?.close();
  await Promise.all([stub?.close(), slapd?.stop()]);
});

/** A login from `client` (X-Forwarded-For through the trusted loopback proxy): status, binds, device cookie. */
async function login(profileId: string, username: string, password: string, client: string, cookie?: string) {
  const before = await slapd.binds();
  const req = request(b.url).post(`/auth/${profileId}/ldap`).set('X-Forwarded-For', client).type('form');
  if (cookie) req.set('Cookie', cookie);
  const res = await req.send({ username, password });
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${DEVICE_COOKIE}=`));
  return { status: res.status, binds: (await slapd.binds()) - before, device: setCookie?.split(';')[0] };
}

describe('the counter is the directory entry, not what was typed', () => {
  it('an alias (mail for uid) of a locked user is refused without a bind, right password included', async () => {
    // The directory does accept both spellings.
    expect((await login('alias', 'carol@example.org', 'carol-pass', '198.51.100.1')).status).toBe(302);
    for (let i = 0; i < LIMIT; i++) expect((await login('alias', 'carol', `wrong-${i}`, '198.51.100.2')).status).toBe(401);
    const viaAlias = await login('alias', 'carol@example.org', 'carol-pass', '198.51.100.2');
    expect(viaAlias.status).toBe(401);
    expect(viaAlias.binds).toBe(0);
  });
});

describe('the (user, client) pair is locked; the user only for clients that have not proven the password', () => {
  it("another client's failures do not lock out a user who is not guessing", async () => {
    for (let i = 0; i < LIMIT; i++) expect((await login('pairs', 'alice', `wrong-${i}`, '198.51.100.10')).status).toBe(401);
    // The guessing client is locked out for alice, without a bind, even with the right password.
    const guesser = await login('pairs', 'alice', 'alice-pass', '198.51.100.10');
    expect(guesser).toMatchObject({ status: 401, binds: 0 });
    // Alice from her own client is not.
    expect((await login('pairs', 'alice', 'alice-pass', '198.51.100.11')).status).toBe(302);
  });

  it('many guessing clients lock the user for unrecognised clients only; a browser with its device cookie still signs in', async () => {
    const first = await login('devices', 'bob', 'bob-pass', '198.51.100.20');
    expect(first.status).toBe(302);
    expect(first.device).toBeDefined();
    // The cookie is HttpOnly and scoped to this profile's login routes.
    // Guessers spread over enough clients to reach the user-wide limit (no pair is locked).
    for (let i = 0; i < LIMIT * USER_LIMIT_FACTOR; i++) expect((await login('devices', 'bob', `wrong-${i}`, `198.51.100.${30 + (i % USER_LIMIT_FACTOR)}`)).status).toBe(401);
    const fresh = await login('devices', 'bob', 'bob-pass', '198.51.100.40');
    expect(fresh).toMatchObject({ status: 401, binds: 0 });
    // Bob's browser, from anywhere: counted on its own, signs in.
    expect((await login('devices', 'bob', 'bob-pass', '198.51.100.41', first.device)).status).toBe(302);
  });

  it('a device cookie proves nothing for another user, and a tampered one is ignored', async () => {
    const mine = await login('devices', 'dave', 'dave-pass', '198.51.100.50');
    expect(mine.device).toBeDefined();
    for (let i = 0; i < LIMIT * USER_LIMIT_FACTOR; i++) expect((await login('devices', 'colin', `wrong-${i}`, `198.51.100.${60 + (i % USER_LIMIT_FACTOR)}`)).status).toBe(401);
    // Dave's cookie for colin: unrecognised, so refused without a bind.
    expect(await login('devices', 'colin', 'colon:in:password', '198.51.100.70', mine.device)).toMatchObject({ status: 401, binds: 0 });
    const tampered = `${mine.device?.slice(0, -2)}AA`;
    expect(await login('devices', 'colin', 'colon:in:password', '198.51.100.71', tampered)).toMatchObject({ status: 401, binds: 0 });
  });
});
