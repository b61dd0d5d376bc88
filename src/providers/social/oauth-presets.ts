/**
 * Social OAuth presets: every provider name TIB accepts besides openid-connect. One generic OAuth 2.0
 * authorization-code flow with per-provider endpoints and profile mapping (the passport strategies for
 * these providers are mostly unmaintained), plus OAuth 1.0a for twitter. Identity fields follow what TIB's
 * goth providers return (docs/tib-behaviour.md §4.1). Every endpoint can be overridden per entry (AuthURL, TokenURL,
 * ProfileURL, EmailURL), e.g. for GitHub Enterprise or a Salesforce sandbox.
 */
import { calculatePKCECodeChallenge } from 'openid-client';
import type { Identity } from '../../identity/identity.js';
import type { SocialProviderEntry } from './social-config.js';
import { basicAuthorization } from './client-auth.js';
import { verifiedFlag } from './email-verified.js';
import { describe, FlowError, type FlowSecrets, type RedirectHandler } from './handler.js';
import type { IdpFetch } from './idp-fetch.js';
import { oauth1Header } from './oauth1.js';

type Json = Record<string, unknown>;
const TIMEOUT_MS = 10_000;

interface Person {
  userId: string;
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
}

interface OAuth2Preset {
  auth: string;
  token: string;
  /** The user endpoint; Salesforce's comes from the token response. */
  profile: string | ((token: Json) => string);
  email?: string;
  scopes: string[];
  pkce: boolean;
  authParams?: Record<string, string>;
  profileMethod?: 'GET' | 'POST';
  /** How the client authenticates at the token endpoint (default: client_id/client_secret in the body). */
  clientAuth?: 'body' | 'basic';
  person(profile: Json, emails: unknown): Person;
  /**
   * Where the provider says the email person() took is verified: the path of its documented flag in the user
   * answer; 'picked' when person() takes only verified addresses; 'none' when the API has no such flag.
   */
  emailVerified: string[] | 'picked' | 'none';
}

const s = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Json)[k] : undefined), o);
const splitName = (name: string): [string, string] => {
  const i = name.lastIndexOf(' ');
  return i > 0 ? [name.slice(0, i), name.slice(i + 1)] : [name, ''];
};
/**
 * The address that is both primary and verified, as goth takes it (github, bitbucket); never another
 * verified address, which could sign the user in as a different Dashboard user than TIB would.
 */
function primaryEmail(list: unknown, key = 'email', primary = 'primary', verified = 'verified'): string {
  if (!Array.isArray(list)) return '';
  const pick = list.find((e): e is Json => typeof e === 'object' && e !== null && (e as Json)[primary] === true && (e as Json)[verified] === true);
  return pick ? s(pick[key]) : '';
}

export const OAUTH2_PRESETS: Record<string, OAuth2Preset> = {
  gplus: {
    auth: 'https://accounts.google.com/o/oauth2/auth',
    token: 'https://oauth2.googleapis.com/token',
    profile: 'https://www.googleapis.com/oauth2/v2/userinfo',
    emailVerified: ['verified_email'],
    scopes: ['profile', 'email', 'openid'],
    pkce: true,
    authParams: { access_type: 'offline' },
    person: (p) => ({ userId: s(p.id), email: s(p.email), firstName: s(p.given_name), lastName: s(p.family_name), displayName: s(p.name) }),
  },
  github: {
    auth: 'https://github.com/login/oauth/authorize',
    token: 'https://github.com/login/oauth/access_token',
    profile: 'https://api.github.com/user',
    // The public profile email can only be a verified address; else the primary and verified one.
    emailVerified: 'picked',
    email: 'https://api.github.com/user/emails',
    scopes: ['read:user', 'user:email'],
    pkce: true,
    person: (p, emails) => {
      const [firstName, lastName] = splitName(s(p.name));
      return { userId: s(p.id), email: s(p.email) || primaryEmail(emails), firstName, lastName, displayName: s(p.name) || s(p.login) };
    },
  },
  linkedin: {
    auth: 'https://www.linkedin.com/oauth/v2/authorization',
    token: 'https://www.linkedin.com/oauth/v2/accessToken',
    profile: 'https://api.linkedin.com/v2/me',
    // The v2 emailAddress API states no verification; LinkedIn's OpenID Connect (openid-connect) sends email_verified.
    emailVerified: 'none',
    email: 'https://api.linkedin.com/v2/emailAddress?q=members&projection=(elements*(handle~))',
    scopes: ['r_liteprofile', 'r_emailaddress'],
    pkce: false,
    person: (p, emails) => {
      const first = s(p.localizedFirstName);
      const last = s(p.localizedLastName);
      return { userId: s(p.id), email: s(get(emails, 'elements', '0', 'handle~', 'emailAddress')), firstName: first, lastName: last, displayName: [first, last].filter(Boolean).join(' ') };
    },
  },
  dropbox: {
    auth: 'https://www.dropbox.com/oauth2/authorize',
    token: 'https://api.dropboxapi.com/oauth2/token',
    profile: 'https://api.dropboxapi.com/2/users/get_current_account',
    emailVerified: ['email_verified'],
    profileMethod: 'POST',
    scopes: [],
    pkce: true,
    person: (p) => ({ userId: s(p.account_id), email: s(p.email), firstName: s(get(p, 'name', 'given_name')), lastName: s(get(p, 'name', 'surname')), displayName: s(get(p, 'name', 'display_name')) }),
  },
  digitalocean: {
    auth: 'https://cloud.digitalocean.com/v1/oauth/authorize',
    token: 'https://cloud.digitalocean.com/v1/oauth/token',
    profile: 'https://api.digitalocean.com/v2/account',
    emailVerified: ['account', 'email_verified'],
    scopes: ['read'],
    pkce: false,
    person: (p) => ({ userId: s(get(p, 'account', 'uuid')), email: s(get(p, 'account', 'email')), firstName: '', lastName: '', displayName: s(get(p, 'account', 'email')) }),
  },
  bitbucket: {
    auth: 'https://bitbucket.org/site/oauth2/authorize',
    token: 'https://bitbucket.org/site/oauth2/access_token',
    profile: 'https://api.bitbucket.org/2.0/user',
    emailVerified: 'picked',
    email: 'https://api.bitbucket.org/2.0/user/emails',
    scopes: ['account', 'email'],
    pkce: false,
    // Bitbucket documents only HTTP Basic for the client at its token endpoint (curl -u "client_id:secret").
    clientAuth: 'basic',
    person: (p, emails) => {
      const [firstName, lastName] = splitName(s(p.display_name));
      return { userId: s(p.uuid), email: primaryEmail(get(emails, 'values'), 'email', 'is_primary', 'is_confirmed'), firstName, lastName, displayName: s(p.display_name) || s(p.username) };
    },
  },
  salesforce: {
    auth: 'https://login.salesforce.com/services/oauth2/authorize',
    token: 'https://login.salesforce.com/services/oauth2/token',
    profile: (token) => s(token.id),
    emailVerified: ['email_verified'],
    scopes: [],
    pkce: true,
    person: (p) => ({ userId: s(p.user_id), email: s(p.email), firstName: s(p.first_name), lastName: s(p.last_name), displayName: s(p.display_name) }),
  },
};

/** Every preset call goes over the profile's transport (its CA bundle, or SSLInsecureSkipVerify). */
async function call(fetch: IdpFetch, url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new FlowError(`${what} unreachable: ${describe(err)}`);
  }
}

async function json(res: Response, what: string): Promise<Json> {
  if (!res.ok) throw new FlowError(`${what} answered ${res.status}`);
  try {
    const v: unknown = await res.json();
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
    if (Array.isArray(v)) return { values: v };
  } catch {
    // fall through
  }
  throw new FlowError(`${what} answered something that is not a JSON object`);
}

class OAuth2Handler implements RedirectHandler {
  private readonly p: OAuth2Preset;
  constructor(
    private readonly entry: SocialProviderEntry,
    private readonly fetch: IdpFetch,
  ) {
    this.p = OAUTH2_PRESETS[entry.Name] as OAuth2Preset;
  }

  async usesPkce(): Promise<boolean> {
    return this.p.pkce;
  }

  async authorizationUrl(redirectUri: string, secrets: FlowSecrets): Promise<URL> {
    const url = new URL(this.entry.AuthURL || this.p.auth);
    const scopes = this.entry.Scopes.length > 0 ? this.entry.Scopes : this.p.scopes;
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.entry.Key);
    url.searchParams.set('redirect_uri', redirectUri);
    if (scopes.length > 0) url.searchParams.set('scope', scopes.join(' '));
    url.searchParams.set('state', secrets.state);
    for (const [k, v] of Object.entries(this.p.authParams ?? {})) url.searchParams.set(k, v);
    if (secrets.codeVerifier) {
      url.searchParams.set('code_challenge', await calculatePKCECodeChallenge(secrets.codeVerifier));
      url.searchParams.set('code_challenge_method', 'S256');
    }
    return url;
  }

  async finish(callbackUrl: URL, redirectUri: string, secrets: FlowSecrets): Promise<Identity> {
    const code = callbackUrl.searchParams.get('code');
    if (!code) throw new FlowError('callback without a code');
    if (callbackUrl.searchParams.get('state') !== secrets.state) throw new FlowError('state mismatch');
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' };
    if (this.p.clientAuth === 'basic') {
      // Escaped as TIB's Go client does (url.QueryEscape), then Base64; one client authentication method per request.
      headers.Authorization = basicAuthorization(this.entry.Key, this.entry.Secret);
    } else {
      body.set('client_id', this.entry.Key);
      body.set('client_secret', this.entry.Secret);
    }
    if (secrets.codeVerifier) body.set('code_verifier', secrets.codeVerifier);
    const token = await json(await call(this.fetch, this.entry.TokenURL || this.p.token, { method: 'POST', headers, body }, 'token endpoint'), 'token endpoint');
    const accessToken = s(token.access_token);
    if (!accessToken) throw new FlowError(`token endpoint answered without an access_token${token.error ? ` (error=${s(token.error).slice(0, 64)})` : ''}`);
    const auth = { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' };
    const profileUrl = this.entry.ProfileURL || (typeof this.p.profile === 'function' ? this.p.profile(token) : this.p.profile);
    if (!profileUrl) throw new FlowError('no user endpoint to read the profile from');
    const profile = await json(await call(this.fetch, profileUrl, { method: this.p.profileMethod ?? 'GET', headers: auth }, 'user endpoint'), 'user endpoint');
    let emails: unknown;
    const emailUrl = this.entry.EmailURL || this.p.email;
    if (emailUrl && (!s(profile.email) || this.entry.Name !== 'github')) {
      const r = await call(this.fetch, emailUrl, { headers: auth }, 'email endpoint');
      emails = r.ok ? ((await r.json().catch(() => undefined)) as unknown) : undefined;
    }
    const person = this.p.person(profile, emails);
    if (!person.userId) throw new FlowError(`${this.entry.Name} returned no user id`);
    this.checkVerified(person.email, profile);
    return { ...person, raw: profile, provider: this.entry.Name, accessToken };
  }

  /** The Dashboard and Portal sign users in by email: an address the provider has not verified could be anyone's. */
  private checkVerified(email: string, profile: Json): void {
    const where = this.p.emailVerified;
    if (!email || where === 'picked' || this.entry.AllowUnverifiedEmail) return;
    const fix = 'verify it at the provider, or set AllowUnverifiedEmail on this UseProviders entry';
    if (where === 'none') throw new FlowError(`${this.entry.Name} does not say whether the email address is verified; ${fix}`);
    const flag = get(profile, ...where);
    if (verifiedFlag(flag) !== true) throw new FlowError(`${this.entry.Name} does not say the email address is verified (${where.join('.')}: ${JSON.stringify(flag) ?? 'missing'}); ${fix}`);
  }

  close(): void {}
}

const TWITTER = {
  requestToken: 'https://api.twitter.com/oauth/request_token',
  authorize: 'https://api.twitter.com/oauth/authorize',
  accessToken: 'https://api.twitter.com/oauth/access_token',
  // include_email: twitter returns the address only when it is verified (else null): no flag to check.
  profile: 'https://api.twitter.com/1.1/account/verify_credentials.json?include_email=true',
};

/** twitter: OAuth 1.0a. The request-token secret lives in the login's sealed (encrypted) flow cookie, never in clear. */
class TwitterHandler implements RedirectHandler {
  constructor(
    private readonly entry: SocialProviderEntry,
    private readonly fetch: IdpFetch,
  ) {}

  private endpoint(kind: 'requestToken' | 'authorize' | 'accessToken' | 'profile'): string {
    // Overrides: TokenURL for both token endpoints' base, AuthURL, ProfileURL.
    if (kind === 'authorize' && this.entry.AuthURL) return this.entry.AuthURL;
    if (kind === 'profile' && this.entry.ProfileURL) return this.entry.ProfileURL;
    if ((kind === 'requestToken' || kind === 'accessToken') && this.entry.TokenURL) return `${this.entry.TokenURL.replace(/\/+$/, '')}/${kind === 'requestToken' ? 'request_token' : 'access_token'}`;
    return TWITTER[kind];
  }

  async usesPkce(): Promise<boolean> {
    return false;
  }

  async authorizationUrl(redirectUri: string, secrets: FlowSecrets): Promise<URL> {
    // OAuth 1.0a has no state parameter: carry ours in the callback URL.
    const callback = new URL(redirectUri);
    callback.searchParams.set('state', secrets.state);
    const url = this.endpoint('requestToken');
    const header = oauth1Header('POST', url, { consumerKey: this.entry.Key, consumerSecret: this.entry.Secret }, { oauth_callback: callback.toString() });
    const res = await call(this.fetch, url, { method: 'POST', headers: { Authorization: header } }, 'twitter request_token');
    if (!res.ok) throw new FlowError(`twitter request_token answered ${res.status}`);
    const form = new URLSearchParams(await res.text());
    const token = form.get('oauth_token');
    const tokenSecret = form.get('oauth_token_secret');
    if (!token || !tokenSecret || form.get('oauth_callback_confirmed') !== 'true') throw new FlowError('twitter request_token answer incomplete');
    secrets.oauth1 = { token, tokenSecret };
    const auth = new URL(this.endpoint('authorize'));
    auth.searchParams.set('oauth_token', token);
    return auth;
  }

  async finish(callbackUrl: URL, _redirectUri: string, secrets: FlowSecrets): Promise<Identity> {
    const token = callbackUrl.searchParams.get('oauth_token');
    const verifier = callbackUrl.searchParams.get('oauth_verifier');
    if (!secrets.oauth1 || token !== secrets.oauth1.token || !verifier) throw new FlowError('twitter callback does not match the request token');
    const url = this.endpoint('accessToken');
    const creds = { consumerKey: this.entry.Key, consumerSecret: this.entry.Secret, token, tokenSecret: secrets.oauth1.tokenSecret };
    const res = await call(this.fetch, url, { method: 'POST', headers: { Authorization: oauth1Header('POST', url, creds, { oauth_verifier: verifier }) } }, 'twitter access_token');
    if (!res.ok) throw new FlowError(`twitter access_token answered ${res.status}`);
    const form = new URLSearchParams(await res.text());
    const access = { ...creds, token: form.get('oauth_token') ?? '', tokenSecret: form.get('oauth_token_secret') ?? '' };
    if (!access.token) throw new FlowError('twitter access_token answer incomplete');
    const profileUrl = this.endpoint('profile');
    const profile = await json(await call(this.fetch, profileUrl, { headers: { Authorization: oauth1Header('GET', profileUrl, access) } }, 'twitter verify_credentials'), 'twitter verify_credentials');
    const [firstName, lastName] = splitName(s(profile.name));
    return { userId: s(profile.id_str), email: s(profile.email), firstName, lastName, displayName: s(profile.name) || s(profile.screen_name), raw: profile, provider: 'twitter', accessToken: access.token, accessTokenSecret: access.tokenSecret };
  }

  close(): void {}
}

export function createOAuthHandler(entry: SocialProviderEntry, fetch: IdpFetch): RedirectHandler {
  return entry.Name === 'twitter' ? new TwitterHandler(entry, fetch) : new OAuth2Handler(entry, fetch);
}
