/**
 * OpenID Connect Back-Channel Logout 1.0 (§2.4-2.6): the `logout_token` an IdP POSTs to
 * `/auth/{id}/backchannel-logout`, checked before anything is dropped. Signed with the IdP's keys (jwks.ts, as
 * the id_token; never `none` or an HMAC key), `iss` the discovery issuer, `aud` holding our client_id, `iat`
 * present and not in the future, `exp` honoured when present, the back-channel `events` member, `sub` or `sid`,
 * no `nonce` (so an id_token cannot pass for a logout token), and `jti` used once (the provider's replay cache,
 * state/replay-cache.ts). The claim checks are pure (readLogoutToken); the signature and the replay mark are
 * the caller's functions, so the unit tests need no IdP.
 */
import { createHash, type KeyObject } from 'node:crypto';
import * as jose from 'jose';
import type { SessionMatch } from '../../state/login-sessions.js';

export const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** The clock skew allowed on `iat`/`exp`/`nbf`: openid-client's default for id_tokens (oidc.ts). */
export const SKEW_MS = 30_000;
/**
 * A logout token is delivered at once (oidc-provider's live 120 s): one issued longer ago than this is
 * refused, which also bounds how long its `jti` must be remembered.
 */
export const MAX_AGE_MS = 10 * 60 * 1000;
/** The key management algorithms of the profile's JWE key, for id_tokens (oidc.ts) and logout tokens alike. */
export const JWE_KEY_ALGORITHMS = ['RSA-OAEP-256', 'RSA-OAEP'];
/** Far beyond any logout token (a few claims and a signature); the form limit of the route is larger. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/** Which of the broker's sessions the IdP ended: its subject, its session, or both (SessionMatch's rule). */
export type LogoutMatch = SessionMatch;

/** A logout token that is refused; its message is the `error_description` (never the token itself). */
export class LogoutTokenError extends Error {}

export interface LogoutTokenRules {
  /** The IdP's issuer from discovery. */
  issuer: string;
  /** Our client_id at the IdP (the UseProviders entry's Key). */
  clientId: string;
  /** The asymmetric algorithms accepted for id_tokens (jwks.ts asymmetricAlgorithms). */
  algorithms: readonly string[];
  now?: () => number;
  skewMs?: number;
  maxAgeMs?: number;
}

export interface LogoutTokenCheck extends LogoutTokenRules {
  /** Verifies the compact JWS with the IdP's key for its `kid`; throws otherwise (IdpKeys.verify). */
  verifySignature(jws: string, algorithms: string[]): Promise<void>;
  /** True the first time `id` is seen (remembered for `ttlMs`), false for a replay (ReplayCache.firstUse). */
  firstUse(id: string, ttlMs: number): Promise<boolean>;
}

/** A token whose claims passed: what it names, its replay mark and how long to keep the mark. */
export interface ReadLogoutToken {
  match: LogoutMatch;
  replayId: string;
  ttlMs: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** RFC 8725 §3.11 explicit typing: `logout+jwt` (with or without `application/`), or a plain JWT as §2.4 allows. */
function typAccepted(typ: unknown): boolean {
  if (typ === undefined) return true;
  if (typeof typ !== 'string') return false;
  const t = typ.toLowerCase().replace(/^application\//, '');
  return t === 'logout+jwt' || t === 'jwt';
}

function fail(why: string): never {
  throw new LogoutTokenError(why);
}

/** The header and claims checks of §2.6, without the signature (pure). Throws LogoutTokenError. */
export function readLogoutToken(token: string, rules: LogoutTokenRules): ReadLogoutToken {
  if (token.length === 0) fail('no logout_token');
  if (token.length > MAX_TOKEN_LENGTH) fail('the logout_token is too long');
  const parts = token.split('.');
  if (parts.length === 5) fail('the logout_token is encrypted (JWE) and this profile has no JWE key (JWE.Enabled)');
  if (parts.length !== 3) fail('the logout_token is not a signed JWT');
  let header: jose.ProtectedHeaderParameters;
  let claims: jose.JWTPayload;
  try {
    header = jose.decodeProtectedHeader(token);
    claims = jose.decodeJwt(token);
  } catch {
    fail('the logout_token is not a signed JWT');
  }
  // `none` and HS* are never in the list (jwks.ts asymmetricAlgorithms): an HMAC key would be our client secret.
  if (typeof header.alg !== 'string' || !rules.algorithms.includes(header.alg)) fail(`the logout_token's algorithm ${String(header.alg)} is not accepted (${rules.algorithms.join(', ')})`);
  if (!typAccepted(header.typ)) fail(`the logout_token's typ ${String(header.typ)} is neither logout+jwt nor JWT`);

  const now = (rules.now ?? Date.now)();
  const skew = rules.skewMs ?? SKEW_MS;
  const maxAge = rules.maxAgeMs ?? MAX_AGE_MS;
  if (claims.iss !== rules.issuer) fail(`the logout_token's iss is not the IdP's issuer ${rules.issuer}`);
  const aud = claims.aud;
  if (!(aud === rules.clientId || (Array.isArray(aud) && aud.includes(rules.clientId)))) fail("the logout_token's aud does not hold this client_id");
  if (!isNumber(claims.iat)) fail('the logout_token has no iat');
  const iat = claims.iat * 1000;
  if (iat > now + skew) fail("the logout_token's iat is in the future");
  if (iat < now - maxAge - skew) fail(`the logout_token was issued more than ${Math.round(maxAge / 1000)} s ago`);
  if (claims.exp !== undefined && !(isNumber(claims.exp) && claims.exp * 1000 > now - skew)) fail('the logout_token has expired');
  if (claims.nbf !== undefined && !(isNumber(claims.nbf) && claims.nbf * 1000 <= now + skew)) fail('the logout_token is not valid yet (nbf)');
  if (typeof claims.jti !== 'string' || claims.jti === '') fail('the logout_token has no jti');
  const events = claims.events;
  if (!isRecord(events) || !isRecord(events[BACKCHANNEL_EVENT])) fail(`the logout_token's events claim has no ${BACKCHANNEL_EVENT} object`);
  // §2.4: a nonce is prohibited, so an id_token (which carries one) is never taken for a logout token.
  if ('nonce' in claims) fail('the logout_token carries a nonce');
  const { sub, sid } = claims as { sub?: unknown; sid?: unknown };
  if (sub !== undefined && (typeof sub !== 'string' || sub === '')) fail("the logout_token's sub is not a string");
  if (sid !== undefined && (typeof sid !== 'string' || sid === '')) fail("the logout_token's sid is not a string");
  if (sub === undefined && sid === undefined) fail('the logout_token has neither sub nor sid');

  // Remembered as long as the token could still be accepted: until exp, and never past the age limit.
  const until = Math.min(claims.exp !== undefined ? claims.exp * 1000 : Infinity, iat + maxAge) + skew;
  const replayId = `logout-jti:${createHash('sha256').update(`${claims.iss}\n${claims.jti}`).digest('base64url')}`;
  return { match: { ...(sub !== undefined && { sub }), ...(sid !== undefined && { sid }) }, replayId, ttlMs: Math.max(1000, until - now) };
}

/**
 * §2.4: an IdP that encrypts its id_tokens for the client (a profile with JWE.Enabled) encrypts its logout
 * tokens too, signed then encrypted. Opened with the profile's JWE key (JWE_KEY_ALGORITHMS, as id_tokens
 * are): the signed token inside. Anything else passes unchanged, to be checked by verifyLogoutToken.
 */
export async function openLogoutToken(token: string, jweKey: KeyObject | undefined): Promise<string> {
  if (!jweKey || token.split('.').length !== 5) return token;
  if (token.length > MAX_TOKEN_LENGTH) fail('the logout_token is too long');
  try {
    const { plaintext } = await jose.compactDecrypt(token, jweKey, { keyManagementAlgorithms: JWE_KEY_ALGORITHMS });
    return new TextDecoder().decode(plaintext);
  } catch {
    fail("the logout_token does not decrypt with the profile's JWE key");
  }
}

/**
 * The whole check: the claims, the signature with the IdP's keys, then the `jti` marked used. The mark is
 * written last, so a token refused for another reason does not spend its jti. Throws LogoutTokenError.
 */
export async function verifyLogoutToken(token: string, check: LogoutTokenCheck): Promise<LogoutMatch> {
  const read = readLogoutToken(token, check);
  try {
    await check.verifySignature(token, [...check.algorithms]);
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^id_token signature rejected: /, '') : String(err);
    throw new LogoutTokenError(`the logout_token's signature is not the IdP's: ${why}`);
  }
  let first: boolean;
  try {
    first = await check.firstUse(read.replayId, read.ttlMs);
  } catch (err) {
    throw new LogoutTokenError(`the logout_token cannot be checked for replay now: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!first) throw new LogoutTokenError('the logout_token was already used (jti replayed)');
  return read.match;
}

/** The IdP side a back-channel logout needs (oidc.ts OidcHandler.verifyLogoutToken). */
export interface LogoutTokenVerifier {
  verifyLogoutToken(token: string, firstUse: LogoutTokenCheck['firstUse']): Promise<LogoutMatch>;
}

/**
 * ProviderLogout.backchannel of a profile's openid-connect entry (social.ts): the sessions a verified token
 * names, or why it is refused (the route answers 400 with it, §2.8); never throws.
 */
export function backchannelLogout(idp: LogoutTokenVerifier, firstUse: LogoutTokenCheck['firstUse']): (token: string) => Promise<{ match: LogoutMatch } | { error: string }> {
  return async (token) => {
    try {
      return { match: await idp.verifyLogoutToken(token, firstUse) };
    } catch (err) {
      return { error: err instanceof LogoutTokenError ? err.message : `the logout_token could not be checked: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
}
