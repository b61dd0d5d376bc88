/**
 * The access token of an Okta API Services app: OAuth 2.0 client credentials with `private_key_jwt` client
 * authentication (RFC 7523 §2.2, RFC 7521 §4.2) at the org authorization server, `{OrgURL}/oauth2/v1/token`.
 * The client assertion is a JWT {iss = sub = ClientID, aud = the token endpoint, iat, exp (5 minutes; Okta refuses
 * more than one hour), jti} signed with the app's private key (`jose`), `kid` = KeyID when set. The token is kept
 * until shortly before it expires. The key, the assertion and the token never appear in an error or a log line.
 * An app that requires DPoP (RFC 9449) gets DPoP proofs signed with a key pair of the process (dpopProof).
 */
import { createHash, createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import type { CryptoKey, JWK } from 'jose';
import type { OktaSyncSource } from '../../profiles/profile.js';

/** jose, imported at the first token request: a broker without an Okta source never loads it (docs/performance.md "Idle memory"). */
let joseModule: Promise<typeof import('jose')> | undefined;
const jose = () => (joseModule ??= import('jose'));

export const OKTA_SCOPES = 'okta.users.read okta.groups.read';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The assertion's lifetime: enough for one token request; Okta refuses more than an hour. */
const ASSERTION_TTL_S = 300;

export interface OktaKey {
  key: KeyObject;
  alg: string;
  kid?: string;
  /** The file's text (masked in logs). */
  text: string;
  /** The file's mode when group or others may read it ("644"), for a WARN. */
  looseMode?: string;
}

/** The profile's field, in errors: `profile "x": Sync.Okta.PrivateKeyFile /path`. */
const where = (profileId: string, file: string) => `profile "${profileId}": Sync.Okta.PrivateKeyFile ${file}`;

/** The signing algorithm of a private key: RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519. */
export function keyAlg(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'ec') return { prime256v1: 'ES256', 'P-256': 'ES256', secp384r1: 'ES384', 'P-384': 'ES384', secp521r1: 'ES512', 'P-521': 'ES512' }[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (type === 'ed25519') return 'EdDSA';
  return undefined;
}

/** Reads the key when the source is built: a PEM private key (PKCS#8, PKCS#1 RSA, SEC1 EC) or a private JWK. */
export function readOktaKey(profileId: string, okta: Pick<OktaSyncSource, 'PrivateKeyFile' | 'KeyID'>): OktaKey {
  const file = okta.PrivateKeyFile;
  let text: string;
  let mode: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mode = fs.statSync(file).mode;
  } catch (err) {
    throw new Error(`${where(profileId, file)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  let key: KeyObject;
  let jwkAlg: string | undefined;
  let jwkKid: string | undefined;
  try {
    if (text.trim().startsWith('{')) {
      const jwk = JSON.parse(text) as { alg?: unknown; kid?: unknown; d?: unknown };
      if (typeof jwk.d !== 'string') throw new Error('not private');
      jwkAlg = typeof jwk.alg === 'string' ? jwk.alg : undefined;
      jwkKid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
      key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    } else {
      key = createPrivateKey({ key: text, format: 'pem' });
    }
  } catch {
    // Never the key, nor the parser's message (it may quote the input).
    throw new Error(`${where(profileId, file)} holds no private key the broker can read: a PEM private key (PKCS#8 "BEGIN PRIVATE KEY", PKCS#1 "BEGIN RSA PRIVATE KEY", "BEGIN EC PRIVATE KEY") or a private JWK (JSON with "d")`);
  }
  const alg = jwkAlg ?? keyAlg(key);
  if (!alg) throw new Error(`${where(profileId, file)}: a ${key.asymmetricKeyType ?? 'unknown'} key, which Okta's private_key_jwt does not take (RSA or EC)`);
  const perms = mode & 0o777;
  const kid = okta.KeyID || jwkKid;
  return { key, alg, text, ...(kid && { kid }), ...((perms & 0o077) !== 0 && { looseMode: perms.toString(8).padStart(3, '0') }) };
}

/** The signed client assertion for `tokenUrl` (RFC 7523 §3). */
export async function clientAssertion(clientId: string, tokenUrl: string, k: Pick<OktaKey, 'key' | 'alg' | 'kid'>, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
  const { SignJWT } = await jose();
  return new SignJWT({})
    .setProtectedHeader({ alg: k.alg, typ: 'JWT', ...(k.kid && { kid: k.kid }) })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenUrl)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + ASSERTION_TTL_S)
    .setJti(randomUUID())
    .sign(k.key);
}

/** The form of the token request. */
export function tokenRequestBody(assertion: string): string {
  return new URLSearchParams({ grant_type: 'client_credentials', scope: OKTA_SCOPES, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }).toString();
}

/** Why a token request failed, from Okta's `{error, error_description}` (RFC 6749 §5.2), with a hint for DPoP. */
export function tokenErrorText(status: number, body: unknown): string {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { error?: unknown; error_description?: unknown };
  const error = typeof b.error === 'string' ? b.error.slice(0, 100) : undefined;
  const description = typeof b.error_description === 'string' ? b.error_description.slice(0, 300) : undefined;
  const text = error ? `${error}${description ? `: ${description}` : ''}` : `HTTP ${status}`;
  const hint = error === 'invalid_dpop_proof' || error === 'use_dpop_nonce' ? ' (the app requires DPoP-bound tokens and refused the broker\'s DPoP proof; "Require Demonstrating Proof of Possession (DPoP) header in token requests" can be turned off in its General settings; docs/directory-sync.md#source-okta)' : '';
  return `Okta's token endpoint refused the client credentials: ${text}${hint}`;
}

/** Seconds before expiry at which a kept token is renewed. */
export const RENEW_BEFORE_S = 60;

/** When a token answered with `expires_in` seconds at `nowMs` stops being used. */
export function tokenUsableUntil(nowMs: number, expiresIn: unknown): number {
  const s = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 300;
  // Renew a minute early, or at half the lifetime of a short-lived token.
  return nowMs + Math.max(s / 2, s - RENEW_BEFORE_S) * 1000;
}

/** The key pair that binds DPoP tokens (RFC 9449), made once per client when the app asks for DPoP; never stored. */
export interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
  /** The last `DPoP-Nonce` of the token endpoint, and of the API. */
  nonce?: string;
  apiNonce?: string;
}

export async function newDpopKey(): Promise<DpopKey> {
  const { exportJWK, generateKeyPair } = await jose();
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: await exportJWK(publicKey) };
}

/** A DPoP proof (RFC 9449 §4.2) for one request: htu without query or fragment; `ath` when it carries a token. */
export async function dpopProof(key: Pick<DpopKey, 'privateKey' | 'jwk'>, htm: string, url: string, o: { nonce?: string; accessToken?: string } = {}, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
  const htu = new URL(url);
  htu.search = '';
  htu.hash = '';
  const { SignJWT } = await jose();
  return new SignJWT({ htm, htu: htu.toString(), ...(o.nonce && { nonce: o.nonce }), ...(o.accessToken && { ath: createHash('sha256').update(o.accessToken).digest('base64url') }) })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .setIssuedAt(nowS)
    .setJti(randomUUID())
    .sign(key.privateKey);
}
