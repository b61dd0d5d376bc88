/**
 * SocialProvider: OpenID Connect and social OAuth logins (docs/tib-behaviour.md §4.1). URLs are TIB's: start at
 * `/auth/{id}/{provider}`, callback at `CallbackBaseURL + /auth/{id}/{provider}/callback`. Unlike TIB, every
 * login has its own random state and nonce (and PKCE verifier), sealed in a cookie of its own in this browser
 * (state/login-flow-cookie.ts: nothing is stored for a start), bound to the profile's version, and used once: a
 * replay mark is written only after the IdP's answer has verified. The provider chosen lives in that flow, not
 * in a key shared by every user of the profile.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { Identity } from '../../identity/identity.js';
import { getLogger } from '../../log.js';
import { LoginFlowCookies, profileVersion } from '../../state/login-flow-cookie.js';
import { requireCookieSecret } from '../cookie-secret.js';
import type { ProviderProfile } from '../module.js';
import type { LoginFailure, LoginRequest, Provider, ProviderOutcome, ProviderServices } from '../provider.js';
import { describe, FlowError, type FlowSecrets, type RedirectHandler } from './handler.js';
import { createIdpTransport, readCaFile } from './idp-fetch.js';
import { createOidcLogout } from './logout.js';
import { backchannelLogout } from './backchannel.js';
import { OidcHandler, readJweKey } from './oidc.js';
import { createOAuthHandler } from './oauth-presets.js';
import type { SocialConfig } from './social-config.js';

interface Flow {
  provider: string;
  secrets: FlowSecrets;
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A sealed flow as this code wrote it, else undefined: a cookie sealed by another version of the broker (a
 * rolling upgrade) must end as an unknown state, not a 500.
 */
function asFlow(v: unknown): Flow | undefined {
  if (!isRecord(v) || !isText(v.provider) || !isRecord(v.secrets)) return undefined;
  const { state, nonce, codeVerifier, oauth1 } = v.secrets;
  if (!isText(state) || !isText(nonce) || (codeVerifier !== undefined && !isText(codeVerifier))) return undefined;
  if (oauth1 !== undefined && !(isRecord(oauth1) && isText(oauth1.token) && isText(oauth1.tokenSecret))) return undefined;
  return v as unknown as Flow;
}

/** Every social login failure is a 400 (or the profile's FailureRedirect); TIB answered 200 with error text. */
function failure(reason: string, message = 'Login failed', target?: string): ProviderOutcome {
  return { kind: 'failure', failure: { reason, status: 400, message, ...(target && { target }) } };
}

/** A callback whose state is missing, unknown, expired, replayed or another browser's. */
function badState(reason: string): ProviderOutcome {
  return { kind: 'failure', failure: { reason, status: 400, message: 'Login failed', class: 'state_invalid' } };
}

/** A URL naming a provider the profile lacks: the client's mistake, the IdP was never asked. */
function noSuchProvider(name: string): ProviderOutcome {
  const failure: LoginFailure = { reason: `no provider for ${name} exists in this profile`, status: 400, message: 'Login failed', class: 'bad_request' };
  return { kind: 'failure', failure };
}

/** The replay marks (Redis, or memory when full) failed: our fault, not the client's, and quick (the client never queues). */
function storeDown(err: unknown): ProviderOutcome {
  return { kind: 'failure', failure: { reason: `login replay marks unavailable: ${describe(err)}`, status: 503, message: 'Login failed' } };
}

/** The single-use mark of a flow: a hash of its state, never the state itself. */
const replayId = (state: string) => `flow:${createHash('sha256').update(state).digest('base64url')}`;

export function createSocialProvider({ profile, config: cfg }: ProviderProfile<SocialConfig>, services: ProviderServices): Provider {
  const secret = requireCookieSecret(profile, services.sessionSecret);
  const log = getLogger('SOCIAL AUTH');
  const jweKey = cfg.JWE.Enabled ? readJweKey(cfg.JWE.PrivateKeyLocation, profile.ID) : undefined;
  const ca = cfg.CAFile ? readCaFile(cfg.CAFile, profile.ID) : undefined;
  const insecureSkipVerify = services.insecureSkipVerify;
  // TIB's switch for internal IdPs with self-signed certificates: said per profile, so no one misses it.
  if (insecureSkipVerify) log.warn(`profile "${profile.ID}": SSLInsecureSkipVerify is true: TLS certificates of this profile's identity providers are NOT verified${ca ? ' (CAFile is ignored)' : ''}`);
  const transport = createIdpTransport({ ca, insecureSkipVerify });
  const handlers = new Map<string, RedirectHandler>();
  for (const entry of cfg.UseProviders) {
    handlers.set(entry.Name, entry.Name === 'openid-connect' ? new OidcHandler({ entry, profileId: profile.ID, log, jweKey, fetch: transport.fetch }) : createOAuthHandler(entry, transport.fetch));
  }
  /** The IdP a provider entry calls, for the log of a failed call: the hosts of its URLs (presets: the name). */
  const idpTarget = (name: string): string => {
    const entry = cfg.UseProviders.find((u) => u.Name === name);
    const hosts = new Set<string>();
    for (const url of entry ? [entry.DiscoverURL, entry.AuthURL, entry.TokenURL, entry.ProfileURL, entry.EmailURL] : []) {
      if (URL.canParse(url)) hosts.add(new URL(url).host);
    }
    return hosts.size > 0 ? `${name} at ${[...hosts].join(', ')}` : `${name} (its well-known endpoints)`;
  };
  const base = cfg.CallbackBaseURL.replace(/\/+$/, '');
  const redirectUri = (name: string) => `${base}/auth/${encodeURIComponent(profile.ID)}/${encodeURIComponent(name)}/callback`;
  const secure = base.startsWith('https:');
  /** The cookie must reach the callback; CallbackBaseURL's path carries any mount prefix (e.g. /tib). */
  const cookiePath = `${new URL(base).pathname.replace(/\/+$/, '')}/auth/`;
  const cookies = new LoginFlowCookies({ secret, profileId: profile.ID, version: profileVersion(profile) }, { secure, path: cookiePath, timeoutSeconds: cfg.LoginTimeout });
  const replay = services.replayCache();

  const start = async (req: LoginRequest, name: string): Promise<ProviderOutcome> => {
    const handler = handlers.get(name);
    if (!handler) return noSuchProvider(name);
    try {
      const secrets: FlowSecrets = { state: client.randomState(), nonce: client.randomNonce() };
      if (await handler.usesPkce()) secrets.codeVerifier = client.randomPKCECodeVerifier();
      const url = await handler.authorizationUrl(redirectUri(name), secrets);
      cookies.begin(req, secrets.state, { provider: name, secrets } satisfies Flow);
      return { kind: 'redirect', url: url.toString() };
    } catch (err) {
      return failure(err instanceof FlowError ? err.message : `cannot start the login: ${describe(err)}`, undefined, idpTarget(name));
    }
  };

  const callback = async (req: LoginRequest, name: string): Promise<ProviderOutcome> => {
    const q = req.query;
    const state = typeof q.state === 'string' ? q.state : '';
    // Whatever happens next, this browser's cookie for the state is cleared (finish() does it).
    const opened = state.length > 0 && state.length <= 512 ? cookies.finish(req, state) : undefined;
    const flow = asFlow(opened?.flow);
    if (typeof q.error === 'string') return failure(`the identity provider answered error=${q.error.slice(0, 64)}`);
    if (!state) return badState('callback without a state parameter');
    // No cookie opens: never started here, expired, already used, started before a profile edit, or another browser's.
    if (!opened || !flow || flow.secrets.state !== state) return badState("unknown, expired or already used state, or it belongs to another browser (no login cookie of this profile for it)");
    if (flow.provider !== name) return badState(`the state was issued for ${profile.ID}/${flow.provider}, not ${profile.ID}/${name}`);
    const handler = handlers.get(name);
    if (!handler) return noSuchProvider(name);
    // The callback URL as registered at the IdP (from config, never from the Host header), with the IdP's query.
    const callbackUrl = new URL(redirectUri(name));
    callbackUrl.search = new URL(req.url, 'http://x').search;
    let identity: Identity;
    try {
      identity = await handler.finish(callbackUrl, redirectUri(name), flow.secrets);
    } catch (err) {
      return failure(err instanceof FlowError ? err.message : `login failed: ${describe(err)}`, undefined, idpTarget(name));
    }
    if (!identity.email && !profile.CustomEmailField) {
      // Not a secret, and the first thing an operator trying a new profile needs to read.
      const fix = `${name} returned no email: ask for the "email" scope (Scopes: ["openid", "email"]) or map a claim with CustomEmailField`;
      return failure(fix, fix);
    }
    // Single use, marked only now that the IdP's answer has verified: a failed callback writes nothing.
    try {
      if (!(await replay.firstUse(profile.ID, replayId(state), Math.max(1000, opened.expiresAt - Date.now())))) return badState('already used state (replay)');
    } catch (err) {
      return storeDown(err);
    }
    return { kind: 'identity', identity };
  };

  // RP-initiated logout through the openid-connect entry; the OAuth presets offer none (docs/logout.md).
  const oidc = handlers.get('openid-connect');
  // Back-channel logout (backchannel.ts): each logout_token's jti is marked used in this profile's replay cache.
  const backchannel = oidc instanceof OidcHandler ? backchannelLogout(oidc, (id, ttl) => replay.firstUse(profile.ID, id, ttl)) : undefined;
  return {
    start,
    callback,
    ...(oidc instanceof OidcHandler && { logout: createOidcLogout({ handler: oidc, profileId: profile.ID, base, backchannel }) }),
    async close() {
      for (const h of handlers.values()) h.close();
      replay.close();
      await transport.close();
    },
  };
}
