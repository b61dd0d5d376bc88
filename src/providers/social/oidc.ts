/**
 * openid-connect on openid-client 6: discovery once per profile (cached, refreshed on failure and hourly),
 * PKCE S256 when the IdP supports it, state and nonce checked, the id_token signature verified against the
 * IdP's JWKS (refetched on an unknown kid, with openid-client's own cooldown), iss/aud/azp/exp checked with
 * 30 s of clock skew (openid-client's default), userinfo fetched (its `sub` must match) and merged under the protected claims,
 * encrypted id_tokens decrypted (JWE).
 */
import { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import * as client from 'openid-client';
import type { Identity } from '../../identity/identity.js';
import type { Logger } from '../../log.js';
import { ProviderSetupError } from '../provider.js';
import type { SocialProviderEntry } from '../social-config.js';
import { describe, FlowError, type FlowSecrets, type RedirectHandler } from './handler.js';

const REFRESH_MS = 60 * 60 * 1000;
const PROTECTED = ['iss', 'aud', 'azp', 'exp', 'iat', 'nbf', 'nonce', 'sub', 'auth_time', 'acr', 'amr', 'at_hash', 'c_hash'];

/** The RSA private key of a TIB JWE key file (a PEM that may also hold a CERTIFICATE block). */
export function readJweKeyPem(file: string, profileId: string): string {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProviderSetupError(`SocialProvider profile "${profileId}": cannot read JWE.PrivateKeyLocation ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const m = /-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+?-----END \1?PRIVATE KEY-----/.exec(pem);
  if (!m) throw new ProviderSetupError(`SocialProvider profile "${profileId}": JWE.PrivateKeyLocation ${file} holds no RSA private key`);
  return m[0];
}

async function decryptionKeys(pem: string): Promise<client.DecryptionKey[]> {
  const { createPrivateKey } = await import('node:crypto');
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  const importAs = (hash: string) => webcrypto.subtle.importKey('pkcs8', der, { name: 'RSA-OAEP', hash }, false, ['decrypt', 'unwrapKey']);
  return [
    { key: await importAs('SHA-256'), alg: 'RSA-OAEP-256' },
    { key: await importAs('SHA-1'), alg: 'RSA-OAEP' },
  ];
}

export interface OidcOptions {
  entry: SocialProviderEntry;
  profileId: string;
  log: Logger;
  /** The PEM of the JWE key, when JWE.Enabled. */
  jwePem?: string;
  timeoutSeconds?: number;
}

export class OidcHandler implements RedirectHandler {
  private config?: Promise<client.Configuration>;
  private fetchedAt = 0;
  private readonly scope: string;

  constructor(private readonly o: OidcOptions) {
    const scopes = o.entry.Scopes.length > 0 ? o.entry.Scopes : ['openid'];
    this.scope = (scopes.includes('openid') ? scopes : ['openid', ...scopes]).join(' ');
    if (o.entry.DiscoverURL.startsWith('http:')) o.log.warn(`profile "${o.profileId}": DiscoverURL is plain http: IdP traffic is not protected by TLS`);
  }

  /** Discovery, fetched once and cached; a failed fetch is retried on the next login. */
  private discover(): Promise<client.Configuration> {
    if (this.config && Date.now() - this.fetchedAt < REFRESH_MS) return this.config;
    const previous = this.config;
    const fresh = this.fetchConfig().then(
      (c) => c,
      (err: unknown) => {
        if (this.config === fresh) this.config = previous; // keep serving the last good one, if any
        throw new FlowError(`OpenID discovery from ${this.o.entry.DiscoverURL} failed: ${describe(err)}`, 503);
      },
    );
    this.config = fresh;
    this.fetchedAt = Date.now();
    return previous ? fresh.catch(() => previous) : fresh;
  }

  private async fetchConfig(): Promise<client.Configuration> {
    const { entry } = this.o;
    const insecure = entry.DiscoverURL.startsWith('http:');
    const auth = entry.Secret ? undefined : client.None();
    const config = await client.discovery(new URL(entry.DiscoverURL), entry.Key, entry.Secret || undefined, auth, {
      execute: insecure ? [client.allowInsecureRequests] : [],
      timeout: this.o.timeoutSeconds ?? 10,
    });
    config.timeout = this.o.timeoutSeconds ?? 10;
    client.enableNonRepudiationChecks(config);
    if (this.o.jwePem) client.enableDecryptingResponses(config, undefined, ...(await decryptionKeys(this.o.jwePem)));
    this.o.log.info(`profile "${this.o.profileId}": OpenID configuration discovered`, { issuer: config.serverMetadata().issuer });
    return config;
  }

  async usesPkce(): Promise<boolean> {
    return (await this.discover()).serverMetadata().supportsPKCE('S256');
  }

  async authorizationUrl(redirectUri: string, s: FlowSecrets): Promise<URL> {
    const config = await this.discover();
    const params: Record<string, string> = { redirect_uri: redirectUri, scope: this.scope, state: s.state, nonce: s.nonce };
    if (s.codeVerifier) {
      params.code_challenge = await client.calculatePKCECodeChallenge(s.codeVerifier);
      params.code_challenge_method = 'S256';
    }
    return client.buildAuthorizationUrl(config, params);
  }

  async finish(callbackUrl: URL, _redirectUri: string, s: FlowSecrets): Promise<Identity> {
    const config = await this.discover();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: s.codeVerifier,
        expectedState: s.state,
        expectedNonce: s.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw new FlowError(`token exchange or id_token validation failed: ${describe(err)}`, isNetwork(err) ? 503 : 400);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new FlowError('no id_token in the token response');
    let claims: Record<string, unknown> = { ...idClaims };
    const hasUserinfo = config.serverMetadata().userinfo_endpoint !== undefined;
    if (!this.o.entry.SkipUserInfoRequest && hasUserinfo) {
      try {
        const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        const merged: Record<string, unknown> = { ...claims, ...userinfo };
        for (const k of PROTECTED) if (k in idClaims) merged[k] = (idClaims as Record<string, unknown>)[k];
        claims = merged;
      } catch (err) {
        throw new FlowError(`userinfo failed: ${describe(err)}`, isNetwork(err) ? 503 : 400);
      }
    }
    const str = (k: string) => (typeof claims[k] === 'string' ? (claims[k] as string) : '');
    return {
      userId: idClaims.sub,
      email: str('email'),
      displayName: str('name'),
      firstName: str('given_name'),
      lastName: str('family_name'),
      raw: claims,
      provider: 'openid-connect',
      accessToken: tokens.access_token,
    };
  }

  close(): void {
    this.config = undefined;
  }
}

function isNetwork(err: unknown): boolean {
  const text = describe(err);
  return /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|aborted|timeout|ENOTFOUND/i.test(text);
}
