/**
 * The back-channel logout_token check (src/providers/social/backchannel.ts, OpenID Connect Back-Channel Logout
 * 1.0 §2.6) with tokens made by jose: each rule refuses its token, through the same key lookup as id_tokens
 * (jwks.ts IdpKeys, fed a key set without a network) and the replay cache the provider uses.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { BACKCHANNEL_EVENT, backchannelLogout, LogoutTokenError, MAX_AGE_MS, openLogoutToken, verifyLogoutToken, type LogoutTokenCheck } from '../../src/providers/social/backchannel.js';
import { asymmetricAlgorithms, IdpKeys } from '../../src/providers/social/jwks.js';
import { MemoryReplayCache } from '../../src/state/replay-cache.js';

const ISSUER = 'https://idp.example.com';
const CLIENT = 'broker-client';
const CLIENT_SECRET = 'the-client-secret-0123456789abcdef';
const NOW = 1_800_000_000_000;

let idpKey: CryptoKey;
let otherKey: CryptoKey;
let jwks: jose.JSONWebKeySet;
const caches: MemoryReplayCache[] = [];

beforeAll(async () => {
  const idp = await jose.generateKeyPair('RS256', { extractable: true });
  idpKey = idp.privateKey;
  otherKey = (await jose.generateKeyPair('RS256')).privateKey;
  jwks = { keys: [{ ...(await jose.exportJWK(idp.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' }] };
});

afterEach(() => {
  for (const c of caches.splice(0)) c.close();
});

/** The provider's wiring (oidc.ts): the IdP's keys as for id_tokens, the profile's replay cache. */
function checker(over: Partial<LogoutTokenCheck> = {}): LogoutTokenCheck {
  const keys = new IdpKeys({ uri: 'https://idp.example.com/jwks', timeoutMs: 1000, allowHttp: false, now: () => NOW, fetch: async () => Response.json(jwks) });
  const cache = new MemoryReplayCache(1000, () => NOW);
  caches.push(cache);
  return {
    issuer: ISSUER,
    clientId: CLIENT,
    algorithms: asymmetricAlgorithms(['RS256', 'HS256', 'none']),
    now: () => NOW,
    verifySignature: (jws, algs) => keys.verify(jws, algs),
    firstUse: (id, ttl) => cache.firstUse('profile', id, ttl),
    ...over,
  };
}

const claims = (over: Record<string, unknown> = {}): jose.JWTPayload => ({
  iss: ISSUER,
  aud: CLIENT,
  iat: NOW / 1000,
  exp: NOW / 1000 + 120,
  jti: `jti-${Math.random().toString(36).slice(2)}`,
  sub: 'alice',
  sid: 'sid-1',
  events: { [BACKCHANNEL_EVENT]: {} },
  ...over,
});

function drop(c: jose.JWTPayload, ...keys: string[]): jose.JWTPayload {
  const out = { ...c };
  for (const k of keys) delete out[k];
  return out;
}

async function sign(c: jose.JWTPayload, header: Partial<jose.JWTHeaderParameters> = {}, key: CryptoKey | Uint8Array = idpKey): Promise<string> {
  return new jose.SignJWT(c).setProtectedHeader({ alg: 'RS256', kid: 'idp-1', typ: 'logout+jwt', ...header }).sign(key);
}

async function refused(token: string, why: RegExp, check = checker()): Promise<void> {
  const err = await verifyLogoutToken(token, check).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LogoutTokenError);
  expect((err as Error).message).toMatch(why);
}

describe('a valid logout_token', () => {
  it('names the sub and sid of the sessions to drop', async () => {
    await expect(verifyLogoutToken(await sign(claims()), checker())).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
  });

  it('is accepted with typ JWT or no typ, as §2.4 allows, and with application/logout+jwt', async () => {
    await expect(verifyLogoutToken(await sign(claims(), { typ: 'JWT' }), checker())).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
    await expect(verifyLogoutToken(await sign(claims(), { typ: undefined }), checker())).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
    await expect(verifyLogoutToken(await sign(claims(), { typ: 'application/logout+jwt' }), checker())).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
  });

  it('may carry only a sid, or only a sub, and an aud list holding our client_id, and no exp', async () => {
    await expect(verifyLogoutToken(await sign(drop(claims(), 'sub')), checker())).resolves.toEqual({ sid: 'sid-1' });
    await expect(verifyLogoutToken(await sign(drop(claims(), 'sid')), checker())).resolves.toEqual({ sub: 'alice' });
    await expect(verifyLogoutToken(await sign(claims({ aud: ['other', CLIENT] })), checker())).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
    await expect(verifyLogoutToken(await sign(drop(claims(), 'exp')), checker())).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
  });

  it('is accepted within the clock skew (iat 20 s ahead, exp 20 s past)', async () => {
    await expect(verifyLogoutToken(await sign(claims({ iat: NOW / 1000 + 20, exp: NOW / 1000 - 20 })), checker())).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
  });
});

describe('a logout_token is refused', () => {
  it('when forged: signed by a key that is not the IdP\'s, under the IdP\'s kid or another', async () => {
    await refused(await sign(claims(), {}, otherKey), /signature is not the IdP's/);
    await refused(await sign(claims(), { kid: 'unknown' }, otherKey), /signature is not the IdP's: no key of the IdP matches/);
  });

  it('when its signature was altered, or its claims changed after signing', async () => {
    const token = await sign(claims());
    const [h, p, s] = token.split('.') as [string, string, string];
    await refused(`${h}.${p}.${s.slice(0, -4)}${s.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`, /signature is not the IdP's/);
    const other = Buffer.from(JSON.stringify(claims({ sub: 'bob' }))).toString('base64url');
    await refused(`${h}.${other}.${s}`, /signature is not the IdP's/);
  });

  it('when unsigned (alg none) or signed with an HMAC of the client secret', async () => {
    const none = new jose.UnsecuredJWT(claims()).encode();
    await refused(none, /algorithm none is not accepted/);
    await refused(await sign(claims(), { alg: 'HS256' }, new TextEncoder().encode(CLIENT_SECRET)), /algorithm HS256 is not accepted/);
  });

  it('when replayed: the same jti a second time', async () => {
    const check = checker();
    const token = await sign(claims());
    await expect(verifyLogoutToken(token, check)).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
    await refused(token, /already used \(jti replayed\)/, check);
    // Another token with the same jti (re-signed by the IdP) is a replay too.
    const again = await sign({ ...jose.decodeJwt(token), sub: 'bob' });
    await refused(again, /already used/, check);
  });

  it('without spending its jti when it fails another check (a forged copy cannot burn the real one)', async () => {
    const check = checker();
    const c = claims();
    await refused(await sign(c, {}, otherKey), /signature/, check);
    await refused(await sign({ ...c, aud: 'other' }), /aud/, check);
    await expect(verifyLogoutToken(await sign(c), check)).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
  });

  it('when it carries a nonce (an id_token is not a logout token)', async () => {
    await refused(await sign(claims({ nonce: 'n-1' })), /carries a nonce/);
  });

  it('for the wrong issuer or audience', async () => {
    await refused(await sign(claims({ iss: 'https://evil.example.com' })), /iss is not the IdP's issuer/);
    await refused(await sign(claims({ aud: 'another-client' })), /aud does not hold this client_id/);
    await refused(await sign(claims({ aud: ['another-client'] })), /aud/);
    await refused(await sign(drop(claims(), 'aud')), /aud/);
  });

  it('without iat, with iat in the future, or issued too long ago', async () => {
    await refused(await sign(drop(claims(), 'iat')), /no iat/);
    await refused(await sign(claims({ iat: NOW / 1000 + 60 })), /iat is in the future/);
    await refused(await sign(drop(claims({ iat: (NOW - MAX_AGE_MS) / 1000 - 60 }), 'exp')), /issued more than 600 s ago/);
  });

  it('once expired (exp honoured) or before its nbf', async () => {
    await refused(await sign(claims({ exp: NOW / 1000 - 60 })), /expired/);
    await refused(await sign(claims({ exp: 'soon' })), /expired/);
    await refused(await sign(claims({ nbf: NOW / 1000 + 60 })), /nbf/);
  });

  it('without a jti', async () => {
    await refused(await sign(drop(claims(), 'jti')), /no jti/);
    await refused(await sign(claims({ jti: '' })), /no jti/);
  });

  it('without the back-channel logout event as an object', async () => {
    await refused(await sign(drop(claims(), 'events')), /events claim/);
    await refused(await sign(claims({ events: { [BACKCHANNEL_EVENT]: true } })), /events claim/);
    await refused(await sign(claims({ events: { 'http://schemas.openid.net/event/other': {} } })), /events claim/);
    await refused(await sign(claims({ events: [BACKCHANNEL_EVENT] })), /events claim/);
  });

  it('with neither sub nor sid, or with one that is not a string', async () => {
    await refused(await sign(drop(claims(), 'sub', 'sid')), /neither sub nor sid/);
    await refused(await sign(claims({ sub: 42 })), /sub is not a string/);
    await refused(await sign(claims({ sid: '' })), /sid is not a string/);
  });

  it('with a typ of another kind of token', async () => {
    await refused(await sign(claims(), { typ: 'at+jwt' }), /typ at\+jwt/);
    await refused(await sign(claims(), { typ: 'secevent+jwt' }), /typ/);
  });

  it('when it is not a JWT at all, encrypted, or far too long', async () => {
    await refused('', /no logout_token/);
    await refused('not-a-jwt', /not a signed JWT/);
    await refused('a.b.c', /not a signed JWT/);
    await refused('a.b.c.d.e', /encrypted/);
    await refused(`${await sign(claims())}${'A'.repeat(20_000)}`, /too long/);
  });

  it('when the replay marks are unavailable (nothing can be checked, nothing is dropped)', async () => {
    const check = checker({
      firstUse: () => Promise.reject(new Error('redis down')),
    });
    await refused(await sign(claims()), /cannot be checked for replay now: redis down/, check);
  });
});

describe('backchannelLogout (the provider seam)', () => {
  it('answers the match of a verified token, and the reason of a refused one, without throwing', async () => {
    const check = checker();
    const idp = { verifyLogoutToken: (token: string, firstUse: LogoutTokenCheck['firstUse']) => verifyLogoutToken(token, { ...check, firstUse }) };
    const seam = backchannelLogout(idp, check.firstUse);
    const token = await sign(claims());
    await expect(seam(token)).resolves.toEqual({ match: { sub: 'alice', sid: 'sid-1' } });
    await expect(seam(token)).resolves.toEqual({ error: 'the logout_token was already used (jti replayed)' });
    const broken = backchannelLogout({ verifyLogoutToken: () => Promise.reject(new Error('boom')) }, check.firstUse);
    await expect(broken(token)).resolves.toEqual({ error: 'the logout_token could not be checked: boom' });
  });
});

describe('an encrypted logout_token (signed, then encrypted to the profile\'s JWE key, §2.4)', () => {
  const broker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const encrypt = async (jws: string, to = broker.publicKey) =>
    new jose.CompactEncrypt(new TextEncoder().encode(jws)).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT' }).encrypt(to);

  it('is opened with the JWE key and then checked as a signed one', async () => {
    const jwe = await encrypt(await sign(claims()));
    await expect(verifyLogoutToken(await openLogoutToken(jwe, broker.privateKey), checker())).resolves.toEqual({ sub: 'alice', sid: 'sid-1' });
  });

  it('is refused without a JWE key, encrypted to another key, or when what it holds is not signed by the IdP', async () => {
    const jwe = await encrypt(await sign(claims()));
    await refused(await openLogoutToken(jwe, undefined), /encrypted \(JWE\) and this profile has no JWE key/);
    await expect(openLogoutToken(await encrypt(await sign(claims()), other.publicKey), broker.privateKey)).rejects.toThrow(/does not decrypt/);
    await refused(await openLogoutToken(await encrypt(await sign(claims(), {}, otherKey)), broker.privateKey), /signature/);
    await refused(await openLogoutToken(await encrypt(new jose.UnsecuredJWT(claims()).encode()), broker.privateKey), /algorithm none/);
  });

  it('passes a signed token through unchanged', async () => {
    const jws = await sign(claims());
    await expect(openLogoutToken(jws, broker.privateKey)).resolves.toBe(jws);
  });
});
