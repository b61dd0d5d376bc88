/**
 * OpenID Connect Back-Channel Logout 1.0 (issue 21, item 3) end to end: a user signs in through a real OP
 * (oidc-provider, backchannelLogout on) and the recording Tyk stub, signs out at the OP, and the OP POSTs its
 * logout_token to `POST /auth/{id}/backchannel-logout`: the broker drops what it kept of that login (the next
 * logout at the broker finds no id token to send the OP), and for a token action deletes the user's key at
 * the Dashboard and forgets its record. Another user, and the same user in another profile, keep theirs.
 * Forged, replayed, wrongly addressed or nonce-carrying tokens get 400 and drop nothing. A second OP behaviour
 * (tokens with only a sid, typ JWT), made with the OP's own key; encrypted logout tokens for a profile with
 * JWE. On Redis, with two replicas: the login
 * made through one is dropped by the logout_token the other receives, and Redis keeps nothing of it.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import * as jose from 'jose';
import { BACKCHANNEL_EVENT } from '../../../src/providers/social/backchannel.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, logoutAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-backchannel-tests';
const ADMIN = 'dashboard-admin-secret-for-backchannel-tests';
const CLIENT_SECRET = 'backchannel-client-secret-never-logged';
const SESSION_SECRET = 'session-secret-for-backchannel-tests-0123456789';
/** Profile ID = client_id at the OP; each has its own backchannel_logout_uri. */
const PROFILES = ['bcl', 'bcl-two', 'bcl-sub', 'bcl-token', 'bcl-off'];

let op: TestOp;
let stub: TykStub;
let broker: TestBroker;
let base: string;
let redis: TestRedis;
let rdb: Redis;
/** Two replicas on one Redis: logins through the first, the OP's logout_token to the second. */
let replicas: TestBroker[] = [];
let replicaBase: string[] = [];
let keyDir: string;

const callbackOf = (id: string, at = base) => `${at}/auth/${id}/openid-connect/callback`;
const endpointOf = (id: string, at = base) => `${at}/auth/${id}/backchannel-logout`;

/** The token action's settings (GenerateTemporaryAuthToken, one token per user). */
const TOKEN_ACTION = {
  ActionType: 'GenerateTemporaryAuthToken',
  MatchedPolicyID: 'policy-1',
  IdentityHandlerConfig: { DashboardCredential: CRED, TokenAuth: { BaseAPIID: 'api-base', Expires: 600 } },
};

function profile(id: string, over: Record<string, unknown> = {}, at = base) {
  return oidcProfile({
    id,
    discoveryUrl: op.discoveryUrl,
    callbackBase: at,
    returnUrl: `${stub.url}/tap`,
    credential: CRED,
    key: id,
    secret: CLIENT_SECRET,
    profile: { BackChannelLogout: true, LogoutRedirectURLs: [`${stub.url}/signed-out`], ...over },
  });
}

/** A browser signs in to profile `id` as `user`; the broker's answer to the callback, and the browser. */
async function login(id: string, user: string, jar = new CookieJar(), at = base): Promise<{ jar: CookieJar; res: Response; idToken: jose.JWTPayload }> {
  const start = await fetchWithJar(`${at}/auth/${id}/openid-connect`, jar);
  expect(start.status).toBe(302);
  const callback = await loginAtOp(start.headers.get('location') ?? '', jar, user, callbackOf(id, at));
  const res = await fetchWithJar(callback, jar);
  expect(res.status).toBe(302);
  // The OP's last id_token (encrypted for the JWE profile: its claims are not needed there).
  const last = op.idTokens.at(-1) ?? '';
  return { jar, res, idToken: last.split('.').length === 3 ? jose.decodeJwt(last) : {} };
}

/**
 * Does the broker still hold this browser's login? Its logout then sends the browser to the OP's
 * end_session with the kept id token as id_token_hint; without one, with our client_id alone.
 * (Logging out drops the session, so this is the last thing a test asks of a browser.)
 */
async function keptIdToken(id: string, jar: CookieJar, at = base): Promise<boolean> {
  const res = await fetchWithJar(`${at}/auth/${id}/logout`, jar);
  expect(res.status).toBe(302);
  const to = new URL(res.headers.get('location') ?? '');
  expect(`${to.origin}${to.pathname}`).toBe(`${op.issuer}/session/end`);
  return to.searchParams.has('id_token_hint');
}

/** The OP's logout token for a client, as oidc-provider makes it, with `over` applied. */
function claims(client: string, over: Record<string, unknown> = {}): jose.JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: op.issuer, aud: client, iat: now, exp: now + 120, jti: `jti-${Math.random().toString(36).slice(2)}`, events: { [BACKCHANNEL_EVENT]: {} }, ...over };
}

function post(id: string, token: string): Promise<Response> {
  return fetch(endpointOf(id), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }) });
}

async function expectRefused(res: Response, why: RegExp): Promise<void> {
  expect(res.status).toBe(400);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as { error: string; error_description: string };
  expect(body).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
  expect(body.error_description).toMatch(why);
}

beforeAll(async () => {
  // Servers first, so that none of them takes a port reserved here for a broker.
  [stub, redis] = await Promise.all([startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN }), startRedis()]);
  const [port, portA, portB] = [await freePort(), await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  replicaBase = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  rdb = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  // A profile with JWE: the OP encrypts its id_tokens, and so its logout tokens, to the broker's key.
  keyDir = await fs.mkdtemp(path.join(os.tmpdir(), 'backchannel-jwe-'));
  const jweKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await fs.writeFile(path.join(keyDir, 'jwe.pem'), jweKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const encryptTo = { ...(await jose.exportJWK(jweKey.publicKey)), use: 'enc', alg: 'RSA-OAEP-256', kid: 'broker-enc' };
  op = await startTestOp({
    redirectUris: [...PROFILES.map((id) => callbackOf(id)), callbackOf('bcl-jwe'), callbackOf('bcl-redis', replicaBase[0])],
    clients: [
      ...PROFILES.map((id) => ({
        client_id: id,
        client_secret: CLIENT_SECRET,
        backchannelLogoutUri: endpointOf(id),
        // The OP puts sid in this client's tokens; bcl-sub gets logout tokens with sub only.
        backchannelLogoutSessionRequired: id !== 'bcl-sub',
      })),
      { client_id: 'bcl-redis', client_secret: CLIENT_SECRET, backchannelLogoutUri: endpointOf('bcl-redis', replicaBase[1]), backchannelLogoutSessionRequired: true },
      { client_id: 'bcl-jwe', client_secret: CLIENT_SECRET, backchannelLogoutUri: endpointOf('bcl-jwe'), backchannelLogoutSessionRequired: true, encryptTo },
    ],
  });
  const tyk = { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } };
  const onRedis = { Name: 'redis' as const, IdentityBackendSettings: { Host: redis.host, Port: redis.port } };
  replicas = await Promise.all(
    [portA, portB].map((p) =>
      startTestBroker({
        port: p,
        config: { SessionSecret: SESSION_SECRET, TykAPISettings: tyk, BackEnd: onRedis },
        profiles: [profile('bcl-redis', { ...TOKEN_ACTION, ReturnURL: `${stub.url}/app/cb` }, replicaBase[0])],
      }),
    ),
  );
  broker = await startTestBroker({
    port,
    config: { SessionSecret: SESSION_SECRET, TykAPISettings: tyk },
    profiles: [
      profile('bcl'),
      profile('bcl-two'),
      profile('bcl-sub'),
      profile('bcl-token', { ...TOKEN_ACTION, ReturnURL: `${stub.url}/app/cb` }),
      // Logout on (LogoutRedirectURLs), back-channel off.
      profile('bcl-off', { BackChannelLogout: false }),
      { ...profile('bcl-jwe'), ProviderConfig: { ...(profile('bcl-jwe').ProviderConfig as object), JWE: { Enabled: true, PrivateKeyLocation: path.join(keyDir, 'jwe.pem') } } },
    ],
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([broker?.close(), ...replicas.map((r) => r.close())]);
  rdb?.disconnect();
  await op?.close();
  await stub?.close();
  await redis?.stop();
  if (keyDir) await fs.rm(keyDir, { recursive: true, force: true });
});

/** The key a token action's login put in ReturnURL's fragment. */
const keyOf = (res: Response) => new URLSearchParams(new URL(res.headers.get('location') ?? '').hash.slice(1)).get('token') ?? '';

beforeEach(() => stub.reset());

describe('the OP signs the user out', () => {
  it('drops that login only: not another user, nor the same user in another profile (sub and sid)', async () => {
    const alice = await login('bcl', 'alice');
    const bob = await login('bcl', 'bob');
    // Alice in another profile, from another browser: another OP session, not ended by the first.
    const aliceElsewhere = await login('bcl-two', 'alice');
    expect(alice.idToken.sid).toEqual(expect.any(String));

    const sent = op.backchannelSent.length;
    await logoutAtOp(op, alice.jar);
    expect(op.backchannelSent.slice(sent)).toEqual([{ clientId: 'bcl', accountId: 'alice', sid: alice.idToken.sid }]);

    expect(await keptIdToken('bcl', alice.jar)).toBe(false);
    expect(await keptIdToken('bcl', bob.jar)).toBe(true);
    expect(await keptIdToken('bcl-two', aliceElsewhere.jar)).toBe(true);
  });

  it('with a sub-only logout token (no sid), drops every login of that subject in the profile', async () => {
    const first = await login('bcl-sub', 'alice');
    const second = await login('bcl-sub', 'alice');
    const bob = await login('bcl-sub', 'bob');
    expect(first.idToken.sid).toBeUndefined();

    const sent = op.backchannelSent.length;
    await logoutAtOp(op, first.jar);
    expect(op.backchannelSent.slice(sent)).toEqual([expect.objectContaining({ clientId: 'bcl-sub', accountId: 'alice' })]);
    expect(op.backchannelSent.at(-1)?.error).toBeUndefined();

    expect(await keptIdToken('bcl-sub', second.jar)).toBe(false);
    expect(await keptIdToken('bcl-sub', bob.jar)).toBe(true);
  });

  it("for a token action, deletes the user's key at the Dashboard and forgets it (the next login deletes nothing)", async () => {
    const alice = await login('bcl-token', 'alice');
    const bob = await login('bcl-token', 'bob');
    const aliceKey = keyOf(alice.res);
    const bobKey = keyOf(bob.res);
    expect(stub.keys.has(aliceKey)).toBe(true);

    await logoutAtOp(op, alice.jar);
    expect(op.backchannelSent.at(-1)).toEqual({ clientId: 'bcl-token', accountId: 'alice', sid: alice.idToken.sid });
    expect(stub.deletedKeys).toEqual([{ apiId: 'api-base', key: aliceKey, found: true }]);
    expect(stub.keys.has(aliceKey)).toBe(false);
    expect(stub.keys.has(bobKey)).toBe(true);

    // The identity cache no longer names alice's key: her next login has nothing to delete.
    await login('bcl-token', 'alice');
    expect(stub.deletedKeys).toHaveLength(1);
    expect(await keptIdToken('bcl-token', bob.jar)).toBe(true);
  });
});

describe('another OP behaviour, made with the OP key', () => {
  it('a token with only a sid and typ JWT drops that session, not the same user\'s other one', async () => {
    const one = await login('bcl', 'carol');
    const two = await login('bcl', 'carol');
    expect(one.idToken.sid).not.toEqual(two.idToken.sid);
    const res = await post('bcl', await op.sign(claims('bcl', { sid: one.idToken.sid }), { typ: 'JWT' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await keptIdToken('bcl', one.jar)).toBe(false);
    expect(await keptIdToken('bcl', two.jar)).toBe(true);
  });

  it('a valid token that matches no login is answered 200 (nothing to drop)', async () => {
    const res = await post('bcl', await op.sign(claims('bcl', { sub: 'nobody' }), { typ: 'logout+jwt' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('a bad logout_token is refused with 400 and drops nothing', () => {
  it('forged, replayed, for another client, carrying a nonce, unsigned, or no token at all', async () => {
    const alice = await login('bcl', 'alice');
    const bob = await login('bcl-token', 'bob');
    const deletedBefore = stub.deletedKeys.length;
    const sub = { sub: 'alice', sid: alice.idToken.sid };
    const forger = (await jose.generateKeyPair('RS256')).privateKey;
    const forged = await new jose.SignJWT(claims('bcl', sub)).setProtectedHeader({ alg: 'RS256', kid: jose.decodeProtectedHeader(op.idTokens.at(-1) ?? '').kid, typ: 'logout+jwt' }).sign(forger);
    await expectRefused(await post('bcl', forged), /signature/);
    await expectRefused(await post('bcl', await op.sign(claims('another-client', sub))), /aud/);
    await expectRefused(await post('bcl', await op.sign(claims('bcl', { ...sub, nonce: 'n-0S6_WzA2Mj' }))), /nonce/);
    await expectRefused(await post('bcl', await op.sign(claims('bcl', { ...sub, iss: 'https://evil.example.com' }))), /iss/);
    await expectRefused(await post('bcl', new jose.UnsecuredJWT(claims('bcl', sub)).encode()), /algorithm none/);
    // An id_token of the OP is not a logout token.
    await expectRefused(await post('bcl', op.idTokens.at(-2) ?? ''), /jti|nonce|events/);
    await expectRefused(await fetch(endpointOf('bcl'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' }), /logout_token/);

    // Replayed: a token of a login that is gone (nothing dropped), sent again.
    const once = await op.sign(claims('bcl', { sub: 'nobody' }));
    expect((await post('bcl', once)).status).toBe(200);
    await expectRefused(await post('bcl', once), /already used/);
    // The same jti in a token naming alice is a replay too.
    await expectRefused(await post('bcl', await op.sign({ ...jose.decodeJwt(once), ...sub })), /already used/);

    // Bob's key in the token profile, with a forged token naming him.
    const forgedBob = await new jose.SignJWT(claims('bcl-token', { sub: 'bob' })).setProtectedHeader({ alg: 'RS256', kid: 'whatever' }).sign(forger);
    await expectRefused(await post('bcl-token', forgedBob), /signature/);
    expect(stub.deletedKeys).toHaveLength(deletedBefore);
    expect(stub.keys.has(keyOf(bob.res))).toBe(true);
    expect(await keptIdToken('bcl', alice.jar)).toBe(true);
    expect(await keptIdToken('bcl-token', bob.jar)).toBe(true);
  });
});

describe('a profile with JWE', () => {
  it("takes the OP's encrypted logout token (signed, then encrypted to the profile's key)", async () => {
    const alice = await login('bcl-jwe', 'alice');
    const bob = await login('bcl-jwe', 'bob');
    await logoutAtOp(op, alice.jar);
    expect(op.backchannelSent.at(-1)).toEqual({ clientId: 'bcl-jwe', accountId: 'alice', sid: expect.any(String) });
    expect(await keptIdToken('bcl-jwe', alice.jar)).toBe(false);
    expect(await keptIdToken('bcl-jwe', bob.jar)).toBe(true);
  });
});

describe('BackChannelLogout off', () => {
  it('answers 404, and the OP\'s logout drops nothing', async () => {
    const alice = await login('bcl-off', 'alice');
    expect((await post('bcl-off', await op.sign(claims('bcl-off', { sub: 'alice' })))).status).toBe(404);
    await logoutAtOp(op, alice.jar);
    expect(op.backchannelSent.at(-1)).toEqual(expect.objectContaining({ clientId: 'bcl-off', error: expect.stringContaining('404') }));
    expect(await keptIdToken('bcl-off', alice.jar)).toBe(true);
  });
});

describe('on Redis, two replicas', () => {
  it("a login made through one is ended by the logout_token the other receives: key deleted, nothing left in Redis", async () => {
    const [a] = replicaBase as [string, string];
    const alice = await login('bcl-redis', 'alice', new CookieJar(), a);
    const bob = await login('bcl-redis', 'bob', new CookieJar(), a);
    const aliceKey = keyOf(alice.res);
    const kept = async () => (await rdb.keys('*')).filter((k) => /identity-cache|login-session:/.test(k)).length;
    // Two logins: two kept sessions and two token records.
    expect(await kept()).toBe(4);

    await logoutAtOp(op, alice.jar);
    expect(op.backchannelSent.at(-1)).toEqual({ clientId: 'bcl-redis', accountId: 'alice', sid: alice.idToken.sid });
    expect(stub.deletedKeys).toEqual([{ apiId: 'api-base', key: aliceKey, found: true }]);
    expect(await kept()).toBe(2);
    // The replica she signed in through finds nothing of her login any more; bob's is still there.
    expect(await keptIdToken('bcl-redis', alice.jar, a)).toBe(false);

    // Her next login has no record: nothing to delete.
    await login('bcl-redis', 'alice', new CookieJar(), a);
    expect(stub.deletedKeys).toHaveLength(1);
    expect(await keptIdToken('bcl-redis', bob.jar, a)).toBe(true);
  });
});
