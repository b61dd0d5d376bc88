/**
 * The pure parts of the Okta source (src/sync/okta/): Link parsing (RFC 8288), the rate-limit waits, Okta's error
 * shapes, the key file and the client assertion (RFC 7523), and the identity a person gets, which must be the one
 * the profile's OpenID Connect login builds (src/providers/social/module.ts, src/identity/explain.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { explainIdentity } from '../../src/identity/explain.js';
import { builtinProviders } from '../../src/providers/registry.js';
import { socialModule } from '../../src/providers/social/module.js';
import type { Profile } from '../../src/profiles/profile.js';
import { validateProfile } from '../../src/profiles/validate.js';
import { FIRST } from '../support/rules.js';
import { oktaIdentity, SIGN_IN_STATUSES } from '../../src/sync/okta/identity.js';
import { MAX_RATE_WAIT_MS, nextLink, oktaErrorText, rateWait, readRateLimit } from '../../src/sync/okta/paging.js';
import { clientAssertion, dpopProof, newDpopKey, readOktaKey, tokenErrorText, tokenRequestBody, tokenUsableUntil } from '../../src/sync/okta/token.js';

const ORG = 'https://acme.okta.com';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okta-unit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('nextLink (RFC 8288)', () => {
  const self = `<${ORG}/api/v1/users?limit=2>; rel="self"`;
  const next = `<${ORG}/api/v1/users?after=00u2&limit=2>; rel="next"`;
  it('reads rel="next" from one header of comma-joined links, or from several headers', () => {
    expect(nextLink(`${self}, ${next}`, ORG)).toBe(`${ORG}/api/v1/users?after=00u2&limit=2`);
    expect(nextLink([self, next], ORG)).toBe(`${ORG}/api/v1/users?after=00u2&limit=2`);
  });
  it('none without a next link; relative targets resolve; rel lists and unquoted values; commas inside <>', () => {
    expect(nextLink(self, ORG)).toBeUndefined();
    expect(nextLink(undefined, ORG)).toBeUndefined();
    expect(nextLink('</api/v1/users?after=x>; rel=next', `${ORG}/api/v1/users`)).toBe(`${ORG}/api/v1/users?after=x`);
    expect(nextLink(`<${ORG}/a?x=1,2>; rel="next last"`, ORG)).toBe(`${ORG}/a?x=1,2`);
    expect(nextLink(`<${ORG}/a>; title="a, b"; rel="prev", <${ORG}/b>; REL="NEXT"`, ORG)).toBe(`${ORG}/b`);
  });
});

describe('rate limits', () => {
  const now = 1_000_000_000_000;
  const resetIn = (s: number) => String(now / 1000 + s);
  it('reads the X-Rate-Limit-* headers', () => {
    expect(readRateLimit({ 'x-rate-limit-limit': '600', 'x-rate-limit-remaining': '5', 'x-rate-limit-reset': resetIn(30) })).toEqual({ limit: 600, remaining: 5, reset: now / 1000 + 30 });
    expect(readRateLimit({ 'x-rate-limit-limit': 'lots' })).toEqual({ limit: undefined, remaining: undefined, reset: undefined });
  });
  it('after a 429: until Reset (and a second), at most a minute, a second when Reset is missing or past', () => {
    expect(rateWait({ reset: now / 1000 + 10 }, now, true)).toBe(11_000);
    expect(rateWait({ reset: now / 1000 + 3600 }, now, true)).toBe(MAX_RATE_WAIT_MS);
    expect(rateWait({}, now, true)).toBe(1000);
    expect(rateWait({ reset: now / 1000 - 5 }, now, true)).toBe(1000);
  });
  it('before a call: only when Remaining fell to a tenth of Limit or below', () => {
    expect(rateWait({ limit: 600, remaining: 61, reset: now / 1000 + 20 }, now, false)).toBe(0);
    expect(rateWait({ limit: 600, remaining: 60, reset: now / 1000 + 20 }, now, false)).toBe(21_000);
    expect(rateWait({ limit: 600, remaining: 0, reset: now / 1000 - 1 }, now, false)).toBe(0);
    expect(rateWait({}, now, false)).toBe(0);
  });
});

describe("Okta's errors", () => {
  it('the API error shape as errorCode and errorSummary (and the causes)', () => {
    expect(oktaErrorText({ errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.', errorLink: 'E0000047', errorId: 'oae1', errorCauses: [] })).toBe('E0000047 API call exceeded rate limit due to too many requests.');
    expect(oktaErrorText({ errorCode: 'E0000001', errorSummary: 'Api validation failed', errorCauses: [{ errorSummary: 'search: bad' }] })).toBe('E0000001 Api validation failed (search: bad)');
    expect(oktaErrorText({ error: 'x' })).toBeUndefined();
  });
  it("the token endpoint's {error, error_description}, with a hint when the app requires DPoP", () => {
    expect(tokenErrorText(401, { error: 'invalid_client', error_description: 'The client_assertion signature is invalid.' })).toBe("Okta's token endpoint refused the client credentials: invalid_client: The client_assertion signature is invalid.");
    expect(tokenErrorText(400, { error: 'invalid_dpop_proof', error_description: 'The DPoP proof JWT header is missing.' })).toContain('refused the broker\'s DPoP proof');
    expect(tokenErrorText(502, 'not json')).toBe("Okta's token endpoint refused the client credentials: HTTP 502");
  });
});

describe('the key and the client assertion (RFC 7523)', () => {
  const file = (name: string, text: string, mode = 0o600) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text, { mode });
    fs.chmodSync(p, mode);
    return p;
  };
  it('PKCS#8, PKCS#1 RSA and SEC1 EC PEM, or a private JWK; the alg from the key; kid from KeyID, else the JWK', async () => {
    const rsa = await jose.generateKeyPair('RS256', { extractable: true });
    const ec = await jose.generateKeyPair('ES384', { extractable: true });
    const pkcs8 = await jose.exportPKCS8(rsa.privateKey);
    const { createPrivateKey } = await import('node:crypto');
    const pkcs1 = createPrivateKey(pkcs8).export({ type: 'pkcs1', format: 'pem' }).toString();
    const sec1 = createPrivateKey(await jose.exportPKCS8(ec.privateKey)).export({ type: 'sec1', format: 'pem' }).toString();
    expect(readOktaKey('p', { PrivateKeyFile: file('a.pem', pkcs8), KeyID: 'k1' })).toMatchObject({ alg: 'RS256', kid: 'k1' });
    expect(readOktaKey('p', { PrivateKeyFile: file('b.pem', pkcs1), KeyID: '' })).toMatchObject({ alg: 'RS256' });
    expect(readOktaKey('p', { PrivateKeyFile: file('c.pem', sec1), KeyID: '' })).toMatchObject({ alg: 'ES384' });
    const jwk = { ...(await jose.exportJWK(ec.privateKey)), kid: 'from-jwk' };
    expect(readOktaKey('p', { PrivateKeyFile: file('d.jwk', JSON.stringify(jwk)), KeyID: '' })).toMatchObject({ alg: 'ES384', kid: 'from-jwk' });
    expect(readOktaKey('p', { PrivateKeyFile: file('e.pem', pkcs8, 0o644), KeyID: '' }).looseMode).toBe('644');
  });
  it('a missing file or no private key: an error naming the profile and the field, never the key', async () => {
    expect(() => readOktaKey('acme', { PrivateKeyFile: path.join(dir, 'none.pem'), KeyID: '' })).toThrow(`profile "acme": Sync.Okta.PrivateKeyFile ${path.join(dir, 'none.pem')} cannot be read: ENOENT`);
    const rsa = await jose.generateKeyPair('RS256', { extractable: true });
    const pub = await jose.exportSPKI(rsa.publicKey);
    const err = (() => {
      try {
        readOktaKey('acme', { PrivateKeyFile: file('pub.pem', pub), KeyID: '' });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(err).toMatch(/^profile "acme": Sync\.Okta\.PrivateKeyFile \S+ holds no private key the broker can read/);
    expect(err).not.toContain(pub.split('\n')[1]);
    const publicJwk = await jose.exportJWK(rsa.publicKey);
    expect(() => readOktaKey('acme', { PrivateKeyFile: file('pub.jwk', JSON.stringify(publicJwk)), KeyID: '' })).toThrow('holds no private key');
  });
  it('the assertion: iss = sub = client id, aud = the token endpoint, exp within the hour, a jti, the kid; and the form', async () => {
    const rsa = await jose.generateKeyPair('RS256', { extractable: true });
    const k = readOktaKey('p', { PrivateKeyFile: file('f.pem', await jose.exportPKCS8(rsa.privateKey)), KeyID: 'kid-1' });
    const tokenUrl = `${ORG}/oauth2/v1/token`;
    const jwt = await clientAssertion('0oa1', tokenUrl, k);
    const { payload, protectedHeader } = await jose.jwtVerify(jwt, rsa.publicKey, { issuer: '0oa1', subject: '0oa1', audience: tokenUrl });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: 'kid-1' });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600);
    expect(typeof payload.jti).toBe('string');
    expect(await clientAssertion('0oa1', tokenUrl, k)).not.toBe(jwt);
    expect(Object.fromEntries(new URLSearchParams(tokenRequestBody(jwt)))).toEqual({
      grant_type: 'client_credentials',
      scope: 'okta.users.read okta.groups.read',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
    });
  });
  it('a DPoP proof (RFC 9449): typ dpop+jwt with the public key, htm, htu without the query, ath of the token, nonce', async () => {
    const key = await newDpopKey();
    const proof = await dpopProof(key, 'GET', `${ORG}/api/v1/users?after=x&limit=2#f`, { accessToken: 'tok', nonce: 'n1' });
    const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, { typ: 'dpop+jwt' });
    expect(protectedHeader.jwk).toEqual(key.jwk);
    expect(protectedHeader.jwk).not.toHaveProperty('d');
    expect(payload).toMatchObject({ htm: 'GET', htu: `${ORG}/api/v1/users`, nonce: 'n1', ath: 'GnZ0607njffhrEOak8P6jjyUV4TU3sn9jjARc4svHWI' });
    expect(typeof payload.jti).toBe('string');
    const plain = jose.decodeJwt(await dpopProof(key, 'POST', `${ORG}/oauth2/v1/token`));
    expect(plain).not.toHaveProperty('ath');
    expect(plain).not.toHaveProperty('nonce');
  });
  it('a token is kept until a minute before it expires (half the lifetime of a short one)', () => {
    expect(tokenUsableUntil(0, 3600)).toBe(3_540_000);
    expect(tokenUsableUntil(0, 60)).toBe(30_000);
    expect(tokenUsableUntil(0, undefined)).toBe(240_000);
  });
});

describe('the identity of an Okta user', () => {
  const raw = {
    ID: 'okta',
    ActionType: 'GenerateOrLoginDeveloperProfile',
    ProviderName: 'SocialProvider',
    OrgID: '0',
    ReturnURL: 'http://portal.example/sso',
    IdentityHandlerConfig: { DashboardCredential: 'x' },
    ProviderConfig: { CallbackBaseURL: 'https://tib.example', UseProviders: [{ Name: 'openid-connect', Key: 'k', Secret: 's', DiscoverURL: `${ORG}/.well-known/openid-configuration` }] },
    CustomUserGroupField: 'groups',
    UserGroupMapping: { Developers: 'Acme/Developers' },
    Membership: { Authority: 'idp' },
    Sync: { Source: 'okta', Okta: { OrgURL: ORG, ClientID: '0oa1', PrivateKeyFile: '/k.pem' } },
  };
  const result = validateProfile(raw, FIRST);
  if (!result.profile) throw new Error(JSON.stringify(result.problems));
  const profile: Profile = result.profile;
  const user = { id: '00u1ero7vZFVEIYLWPBN', status: 'ACTIVE', profile: { login: 'ada@acme.example', email: 'ada@acme.example', firstName: 'Ada', lastName: 'Lovelace' } };

  it("is the profile's OpenID Connect login's: userId the sub (the Okta user id), provider openid-connect, groups by name", () => {
    const synced = oktaIdentity(profile, user, ['Developers', 'Everyone'], (c) => builtinProviders.identityFromClaims(profile, c, ''));
    // What the login reads from the org authorization server's ID token for the same person (module.ts).
    const login = socialModule.identityFromClaims!({ profile } as never, { sub: user.id, email: 'ada@acme.example', name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', preferred_username: 'ada@acme.example', groups: ['Developers', 'Everyone'] }, '');
    expect(synced).toEqual(login);
    const x = explainIdentity(profile, synced);
    expect(x).toMatchObject({ outcome: 'allowed', userId: { value: user.id }, provider: 'openid-connect' });
    expect(x.outcome === 'allowed' && x.teams.map((t) => t.team)).toEqual(['Acme/Developers']);
  });
  it('Okta statuses that can sign in are in scope; never activated, suspended and deprovisioned are not', () => {
    expect([...SIGN_IN_STATUSES].sort()).toEqual(['ACTIVE', 'LOCKED_OUT', 'PASSWORD_EXPIRED', 'RECOVERY']);
  });
});
