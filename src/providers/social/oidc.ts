/**
 * openid-connect on openid-client 6: discovery once per profile (cached, refreshed on failure and hourly),
 * client authentication as TIB's Go client does it (client-auth.ts: the one method discovery lists, else
 * Basic escaped like Go, then the body once if the token endpoint refuses it, remembered), every call over
 * the profile's transport (idp-fetch.ts: its CA bundle, or SSLInsecureSkipVerify), PKCE
 * S256 when the IdP supports it, state and nonce checked, iss/aud/azp/exp checked with 30 s of clock skew
 * (openid-client's default), the id_token signature verified against the IdP's JWKS (jwks.ts: refetched at
 * once after a key rotation, rate-limited), userinfo fetched (its `sub` must match) and merged under the
 * protected claims, encrypted id_tokens decrypted (JWE).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import * as jose from 'jose';
import * as client from 'openid-client';
import type { Identity } from '../../identity/identity.js';
import type { Logger } from '../../log.js';
import { claimsIdentity } from '../module.js';
import { ProviderSetupError } from '../provider.js';
import type { SocialProviderEntry } from './social-config.js';
import { authPlan, clientAuthAccepted, clientAuthFor, isInvalidClient, type AuthMethod } from './client-auth.js';
import { describe, FlowError, type FlowSecrets, type RedirectHandler } from './handler.js';
import type { IdpFetch } from './idp-fetch.js';
import { oidcEmail } from './email-verified.js';
import { asymmetricAlgorithms, IdpKeys } from './jwks.js';
import { JWE_KEY_ALGORITHMS, LogoutTokenError, openLogoutToken, verifyLogoutToken, type LogoutMatch, type LogoutTokenCheck } from './backchannel.js';

const REFRESH_MS = 60 * 60 * 1000;
const PROTECTED = ['iss', 'aud', 'azp', 'exp', 'iat', 'nbf', 'nonce', 'sub', 'auth_time', 'acr', 'amr', 'at_hash', 'c_hash'];

/** The RSA private key of a TIB JWE key file (a PEM that may also hold a CERTIFICATE block). */
export function readJweKey(file: string, profileId: string): KeyObject {
  const where = `SocialProvider profile "${profileId}": JWE.PrivateKeyLocation ${file}`;
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProviderSetupError(`${where} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const m = /-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+?-----END \1?PRIVATE KEY-----/.exec(pem);
  let key: KeyObject | undefined;
  try {
    key = m ? createPrivateKey(m[0]) : undefined;
  } catch {
    key = undefined;
  }
  // TIB panics on a non-RSA key at the first login; say so at load time instead.
  if (key?.asymmetricKeyType !== 'rsa') throw new ProviderSetupError(`${where} holds no RSA private key`);
  return key;
}

export interface OidcOptions {
  entry: SocialProviderEntry;
  profileId: string;
  log: Logger;
  /** The profile's transport for every call to the IdP. */
  fetch: IdpFetch;
  /** The JWE key, when JWE.Enabled. */
  jweKey?: KeyObject;
  timeoutSeconds?: number;
}

/**
 * What one discovery yields: a client configuration per client authentication method to try (in order),
 * the IdP's keys and the signing algorithms to accept.
 */
interface Discovered {
  /** The configuration of the first method: for the authorization URL and userinfo, where no client auth is sent. */
  config: client.Configuration;
  plan: AuthMethod[];
  configs: Map<AuthMethod, client.Configuration>;
  tokenEndpoint: string;
  keys: IdpKeys;
  algorithms: string[];
  /**
   * What logins and logouts ask of the discovery document, read once: openid-client's serverMetadata() returns a
   * structuredClone of it on every call (node_modules/openid-client/build/index.js), ~10 KB per login.
   */
  pkce: boolean;
  hasUserinfo: boolean;
  issuer: string;
  hasEndSession: boolean;
}

/** The OAuth error code (e.g. invalid_client) of a token endpoint's refusal, which describe() does not say. */
function oauthError(err: unknown): string {
  const code =
    err instanceof client.ResponseBodyError ? err.error : err instanceof client.WWWAuthenticateChallengeError ? err.cause.find((c) => c.parameters.error)?.parameters.error : undefined;
  return err instanceof client.ResponseBodyError || err instanceof client.WWWAuthenticateChallengeError ? ` (HTTP ${err.status}${code ? `, error=${code.slice(0, 64)}` : ''})` : '';
}

export class OidcHandler implements RedirectHandler {
  private discovered?: Promise<Discovered>;
  private fetchedAt = 0;
  /** What auto-detection found to work at this token endpoint (Go caches it per token URL too). */
  private detected?: { tokenEndpoint: string; method: AuthMethod };
  private readonly scope: string;
  private readonly timeout: number;

  constructor(private readonly o: OidcOptions) {
    const scopes = o.entry.Scopes.length > 0 ? o.entry.Scopes : ['openid'];
    this.scope = (scopes.includes('openid') ? scopes : ['openid', ...scopes]).join(' ');
    this.timeout = o.timeoutSeconds ?? 10;
    if (o.entry.DiscoverURL.startsWith('http:')) o.log.warn(`profile "${o.profileId}": DiscoverURL is plain http: IdP traffic is not protected by TLS`);
  }

  /** Discovery, fetched once and cached; a failed fetch is retried on the next login. */
  private discover(): Promise<Discovered> {
    if (this.discovered && Date.now() - this.fetchedAt < REFRESH_MS) return this.discovered;
    const previous = this.discovered;
    const fresh = this.fetchDiscovery().catch((err: unknown) => {
      if (this.discovered === fresh) this.discovered = previous; // keep serving the last good one, if any
      throw new FlowError(`OpenID discovery from ${this.o.entry.DiscoverURL} failed: ${describe(err)}`);
    });
    this.discovered = fresh;
    this.fetchedAt = Date.now();
    return previous ? fresh.catch(() => previous) : fresh;
  }

  private async fetchDiscovery(): Promise<Discovered> {
    const { entry } = this.o;
    const insecure = entry.DiscoverURL.startsWith('http:');
    const customFetch: client.CustomFetch = (url, init) => this.o.fetch(url, init as RequestInit);
    const options = { execute: insecure ? [client.allowInsecureRequests] : [], timeout: this.timeout, [client.customFetch]: customFetch };
    const server = (await client.discovery(new URL(entry.DiscoverURL), entry.Key, undefined, client.None(), options)).serverMetadata();
    if (!server.jwks_uri) throw new Error('the discovery document has no jwks_uri, so id_token signatures cannot be verified');
    // Built with the authentication methods the IdP lists, which are known only after discovery.
    const plan = authPlan(entry.Secret, server.token_endpoint_auth_methods_supported);
    const configs = new Map<AuthMethod, client.Configuration>();
    for (const method of plan) {
      const config = new client.Configuration(server, entry.Key, entry.Secret ? { client_secret: entry.Secret } : undefined, clientAuthFor(method, entry.Secret));
      if (insecure) client.allowInsecureRequests(config);
      config.timeout = this.timeout;
      config[client.customFetch] = this.o.jweKey ? (url, init) => this.decryptingFetch(url, init, server.token_endpoint) : customFetch;
      configs.set(method, config);
    }
    this.o.log.info(`profile "${this.o.profileId}": OpenID configuration discovered`, { issuer: server.issuer, clientAuth: plan.join(' then ') });
    return {
      config: configs.get(plan[0] as AuthMethod) as client.Configuration,
      plan,
      configs,
      tokenEndpoint: server.token_endpoint ?? '',
      keys: new IdpKeys({ uri: server.jwks_uri, timeoutMs: this.timeout * 1000, allowHttp: insecure, fetch: this.o.fetch }),
      algorithms: asymmetricAlgorithms(server.id_token_signing_alg_values_supported),
      pkce: server.supportsPKCE('S256'),
      hasUserinfo: server.userinfo_endpoint !== undefined,
      issuer: server.issuer,
      hasEndSession: Boolean(server.end_session_endpoint),
    };
  }

  /** The client authentication methods to try for this login: the one found to work, once auto-detected. */
  private methods(d: Discovered): AuthMethod[] {
    const known = this.detected?.tokenEndpoint === d.tokenEndpoint ? this.detected.method : undefined;
    return known && d.plan.length > 1 && d.plan.includes(known) ? [known] : d.plan;
  }

  /** After auto-detection, the method the token endpoint accepted, for the next logins. */
  private remember(methods: AuthMethod[], d: Discovered, method: AuthMethod): void {
    if (methods.length < 2) return;
    this.detected = { tokenEndpoint: d.tokenEndpoint, method };
    this.o.log.info(`profile "${this.o.profileId}": the token endpoint accepts ${method}; using it from now on`);
  }

  /** The code for tokens, with Go's AuthStyleAutoDetect: on invalid_client, the next method, once. */
  private async exchange(d: Discovered, callbackUrl: URL, s: FlowSecrets): Promise<Awaited<ReturnType<typeof client.authorizationCodeGrant>>> {
    const methods = this.methods(d);
    for (const [i, method] of methods.entries()) {
      try {
        const tokens = await client.authorizationCodeGrant(d.configs.get(method) as client.Configuration, callbackUrl, {
          pkceCodeVerifier: s.codeVerifier,
          expectedState: s.state,
          expectedNonce: s.nonce,
          idTokenExpected: true,
        });
        this.remember(methods, d, method);
        return tokens;
      } catch (err) {
        const next = methods[i + 1];
        const refused = await isInvalidClient(err);
        if (!next || !refused) {
          // After a refusal, invalid_grant means this method got past client authentication (the code was spent).
          if (i > 0 && clientAuthAccepted(err)) this.remember(methods, d, method);
          // The remembered method is refused now (the client's settings at the IdP changed): detect again next time.
          if (refused && methods.length === 1 && this.detected?.method === method) this.detected = undefined;
          throw new FlowError(`token exchange or id_token validation failed: ${describe(err)}${oauthError(err)}`);
        }
        // The endpoint refused the credentials before looking at the code, so the same code is tried again.
        this.o.log.info(`profile "${this.o.profileId}": the token endpoint refused ${method} (invalid_client); trying ${next}`);
      }
    }
    throw new FlowError('no client authentication method to try');
  }

  async usesPkce(): Promise<boolean> {
    return (await this.discover()).pkce;
  }

  async authorizationUrl(redirectUri: string, s: FlowSecrets): Promise<URL> {
    const { config } = await this.discover();
    const params: Record<string, string> = { redirect_uri: redirectUri, scope: this.scope, state: s.state, nonce: s.nonce };
    if (s.codeVerifier) {
      params.code_challenge = await client.calculatePKCECodeChallenge(s.codeVerifier);
      params.code_challenge_method = 'S256';
    }
    return client.buildAuthorizationUrl(config, params);
  }

  async finish(callbackUrl: URL, _redirectUri: string, s: FlowSecrets): Promise<Identity> {
    const d = await this.discover();
    const { config, keys, algorithms, hasUserinfo } = d;
    const tokens = await this.exchange(d, callbackUrl, s);
    const idClaims = tokens.claims();
    if (!idClaims || !tokens.id_token) throw new FlowError('no id_token in the token response');
    await keys.verify(tokens.id_token, algorithms);
    let claims: Record<string, unknown> = { ...idClaims };
    let userinfo: Record<string, unknown> | undefined;
    if (!this.o.entry.SkipUserInfoRequest && hasUserinfo) {
      try {
        userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        const merged: Record<string, unknown> = { ...claims, ...userinfo };
        for (const k of PROTECTED) if (k in idClaims) merged[k] = (idClaims as Record<string, unknown>)[k];
        claims = merged;
      } catch (err) {
        throw new FlowError(`userinfo failed: ${describe(err)}`);
      }
    }
    // The Dashboard and Portal sign users in by email: an address the IdP has not verified could be anyone's.
    const mail = oidcEmail(idClaims, userinfo);
    if (mail.email && mail.verified === false && !this.o.entry.AllowUnverifiedEmail) {
      throw new FlowError(`the email address is not verified (${mail.why}); verify it at the IdP, or set AllowUnverifiedEmail on this UseProviders entry`);
    }
    // The raw claims carry the flag of the address used, never the id_token's flag beside userinfo's address.
    if (mail.verified === undefined) delete claims.email_verified;
    else claims.email_verified = mail.verified;
    if (mail.email) claims.email = mail.email;
    // The same reading as explain's dry run (module.ts), with the checked email and the sub of the ID token.
    // What RP-initiated and back-channel logout need of this login (logout.ts); kept only with logout on.
    const session = { segment: 'openid-connect', idToken: tokens.id_token, sub: idClaims.sub, ...(typeof idClaims.sid === 'string' && { sid: idClaims.sid }), expiresAt: idClaims.exp * 1000 };
    return { ...claimsIdentity(claims, 'openid-connect'), userId: idClaims.sub, email: mail.email, accessToken: tokens.access_token, session };
  }

  /**
   * RP-initiated logout 1.0 (logout.ts): the IdP's end_session_endpoint with `params` (id_token_hint or
   * logout_hint, post_logout_redirect_uri, state) and our client_id; undefined when discovery lists none.
   */
  async endSessionUrl(params: Record<string, string>): Promise<URL | undefined> {
    const { config, hasEndSession } = await this.discover();
    return hasEndSession ? client.buildEndSessionUrl(config, params) : undefined;
  }

  /**
   * A back-channel logout_token of this IdP (backchannel.ts): checked against the discovery issuer, our
   * client_id and the id_token's keys and algorithms (decrypted first with the JWE key, as id_tokens are);
   * `firstUse` marks its jti. Throws LogoutTokenError.
   */
  async verifyLogoutToken(token: string, firstUse: LogoutTokenCheck['firstUse']): Promise<LogoutMatch> {
    const signed = await openLogoutToken(token, this.o.jweKey);
    let d: Discovered;
    try {
      d = await this.discover();
    } catch (err) {
      throw new LogoutTokenError(describe(err));
    }
    return verifyLogoutToken(signed, {
      issuer: d.issuer,
      clientId: this.o.entry.Key,
      algorithms: d.algorithms,
      verifySignature: (jws, algorithms) => d.keys.verify(jws, algorithms),
      firstUse,
    });
  }

  /**
   * Decrypts an encrypted id_token in the token response before openid-client reads it. openid-client
   * picks a decryption key by the JWE's `kid`, for which TIB's JWE settings have no place (TIB ignores it).
   */
  private async decryptingFetch(url: string, init: client.CustomFetchOptions, tokenEndpoint: string | undefined): Promise<Response> {
    const res = await this.o.fetch(url, init as RequestInit);
    if (url !== tokenEndpoint || !res.ok || !this.o.jweKey) return res;
    const body = (await res.json()) as Record<string, unknown>;
    if (typeof body.id_token === 'string' && body.id_token.split('.').length === 5) {
      try {
        const { plaintext } = await jose.compactDecrypt(body.id_token, this.o.jweKey, { keyManagementAlgorithms: JWE_KEY_ALGORITHMS });
        body.id_token = new TextDecoder().decode(plaintext);
      } catch (err) {
        throw new FlowError(`error decrypting JWE: ${describe(err)}`);
      }
    }
    const headers = new Headers(res.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(JSON.stringify(body), { status: res.status, statusText: res.statusText, headers });
  }

  close(): void {
    this.discovered = undefined;
  }
}
