/**
 * Every social OAuth preset end to end: the broker against a local fake of each provider's authorize, token
 * and user endpoints answering the provider's documented JSON, and the recording Tyk stub. Each login is
 * driven as a browser would (redirects followed by hand, the login's `tib_flow_*` cookie carried) and must yield
 * TIB's identity: EmailAddress and DisplayName in /api/sso, and the portal SSO key `<UserID>@<provider>.com`.
 * The fakes check what the providers check (client, redirect_uri, scope, state, PKCE S256, the documented
 * client authentication, single-use codes, Bearer tokens); the twitter fake runs OAuth 1.0a and verifies
 * every HMAC-SHA1 signature with its own base-string code. Then: forged, replayed and cross-browser
 * callbacks, token endpoint errors, and logs free of codes, tokens and secrets.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import express, { type Request, type Response } from 'express';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';

type Json = Record<string, unknown>;
const CRED = 'dashboard-credential-for-social-tests';
const ADMIN = 'dashboard-admin-secret-for-social-tests';
const random = (bytes = 24) => randomBytes(bytes).toString('base64url');
const SUFFIX = random(9);
/** Each provider's registered client; the secrets are distinct so the log check can look for them. */
const client = (name: string) => ({ id: `${name}-client-id`, secret: `${name}-client-secret-${SUFFIX}` });

interface Expected {
  userId: string;
  email: string;
  displayName: string;
}

// ---------------------------------------------------------------------------------------------------------
// The providers, as documented: what each preset must send, and what each answers.
// ---------------------------------------------------------------------------------------------------------

interface Resource {
  method: 'GET' | 'POST';
  path: string;
  /** Query parameters the request must carry. */
  query?: Record<string, string>;
  /** A further documented requirement; returns what is wrong. */
  check?(req: Request): string | undefined;
  /** The documented answer (a string is sent as raw JSON text). */
  body: Json | Json[] | string;
}

interface OAuth2Provider {
  name: 'gplus' | 'github' | 'linkedin' | 'dropbox' | 'digitalocean' | 'bitbucket' | 'salesforce';
  authorize: string;
  token: string;
  /** The scope parameter the preset sends by default (undefined: none). */
  scope?: string;
  pkce: boolean;
  authParams?: Record<string, string>;
  /** Client authentication at the token endpoint, as the provider documents it. */
  clientAuth: 'body' | 'basic';
  /** GitHub answers token errors with 200 and an error object. */
  errorStatus?: number;
  tokenAnswer(accessToken: string, base: string): Json;
  resources: Resource[];
  /** ProfileURL / EmailURL overrides (paths on the fake); AuthURL and TokenURL always point at the fake. */
  overrides: { ProfileURL?: string; EmailURL?: string };
  expected: Expected;
  /** The user endpoint's answer with the provider's documented verified flag saying no. */
  unverified?(body: Json): Json;
}

const OAUTH2: OAuth2Provider[] = [
  {
    name: 'gplus',
    authorize: '/google/o/oauth2/auth',
    token: '/google/token',
    scope: 'profile email openid',
    pkce: true,
    authParams: { access_type: 'offline' },
    clientAuth: 'body',
    tokenAnswer: (at) => ({
      access_token: at,
      expires_in: 3599,
      refresh_token: `1//0g${random()}`,
      scope: 'openid https://www.googleapis.com/auth/userinfo.profile https://www.googleapis.com/auth/userinfo.email',
      token_type: 'Bearer',
    }),
    resources: [
      {
        method: 'GET',
        path: '/google/oauth2/v2/userinfo',
        body: {
          id: '108204268033311374519',
          email: 'ada.lovelace@example.com',
          verified_email: true,
          name: 'Ada Lovelace',
          given_name: 'Ada',
          family_name: 'Lovelace',
          picture: 'https://lh3.googleusercontent.com/a/ACg8ocJ0qY2mX',
          locale: 'en',
          hd: 'example.com',
        },
      },
    ],
    overrides: { ProfileURL: '/google/oauth2/v2/userinfo' },
    unverified: (b) => ({ ...b, verified_email: false }),
    expected: { userId: '108204268033311374519', email: 'ada.lovelace@example.com', displayName: 'Ada Lovelace' },
  },
  {
    name: 'github',
    authorize: '/github/login/oauth/authorize',
    token: '/github/login/oauth/access_token',
    scope: 'read:user user:email',
    pkce: true,
    clientAuth: 'body',
    errorStatus: 200,
    tokenAnswer: (at) => ({ access_token: at, scope: 'read:user,user:email', token_type: 'bearer' }),
    resources: [
      {
        method: 'GET',
        path: '/github/api/user',
        // GitHub's REST API refuses requests without a User-Agent.
        check: (req) => (req.get('user-agent') ? undefined : 'no User-Agent'),
        body: {
          login: 'octocat',
          id: 583231,
          node_id: 'MDQ6VXNlcjU4MzIzMQ==',
          avatar_url: 'https://avatars.githubusercontent.com/u/583231?v=4',
          gravatar_id: '',
          url: 'https://api.github.com/users/octocat',
          html_url: 'https://github.com/octocat',
          type: 'User',
          site_admin: false,
          name: 'The Octocat',
          company: '@github',
          blog: 'https://github.blog',
          location: 'San Francisco',
          email: null, // private address: the preset must read /user/emails
          hireable: null,
          bio: null,
          twitter_username: null,
          public_repos: 8,
          public_gists: 8,
          followers: 21000,
          following: 9,
          created_at: '2011-01-25T18:44:36Z',
          updated_at: '2025-01-22T12:13:17Z',
        },
      },
      {
        method: 'GET',
        path: '/github/api/user/emails',
        check: (req) => (req.get('user-agent') ? undefined : 'no User-Agent'),
        body: [
          { email: 'octocat@users.noreply.github.com', primary: false, verified: true, visibility: null },
          { email: 'octocat@github.com', primary: true, verified: true, visibility: 'private' },
          { email: 'octocat@old.example.com', primary: false, verified: false, visibility: null },
        ],
      },
    ],
    overrides: { ProfileURL: '/github/api/user', EmailURL: '/github/api/user/emails' },
    // The preset splits `name` into first/last name; goth's github user has neither, so TIB sends the email here.
    expected: { userId: '583231', email: 'octocat@github.com', displayName: 'The Octocat' },
  },
  {
    name: 'linkedin',
    authorize: '/linkedin/oauth/v2/authorization',
    token: '/linkedin/oauth/v2/accessToken',
    scope: 'r_liteprofile r_emailaddress',
    pkce: false,
    clientAuth: 'body',
    tokenAnswer: (at) => ({ access_token: at, expires_in: 5184000, scope: 'r_emailaddress,r_liteprofile' }),
    resources: [
      {
        method: 'GET',
        path: '/linkedin/v2/me',
        body: {
          id: 'yrZCpj2Z12',
          localizedFirstName: 'Bob',
          localizedLastName: 'Smith',
          firstName: { localized: { en_US: 'Bob' }, preferredLocale: { country: 'US', language: 'en' } },
          lastName: { localized: { en_US: 'Smith' }, preferredLocale: { country: 'US', language: 'en' } },
          profilePicture: { displayImage: 'urn:li:digitalmediaAsset:C4D00AAAAbBCDEFGhiJ' },
        },
      },
      {
        method: 'GET',
        path: '/linkedin/v2/emailAddress',
        query: { q: 'members', projection: '(elements*(handle~))' },
        body: { elements: [{ handle: 'urn:li:emailAddress:3775708763', 'handle~': { emailAddress: 'bob.smith@example.com' } }] },
      },
    ],
    overrides: { ProfileURL: '/linkedin/v2/me', EmailURL: '/linkedin/v2/emailAddress?q=members&projection=(elements*(handle~))' },
    expected: { userId: 'yrZCpj2Z12', email: 'bob.smith@example.com', displayName: 'Bob Smith' },
  },
  {
    name: 'dropbox',
    authorize: '/dropbox/oauth2/authorize',
    token: '/dropbox/oauth2/token',
    pkce: true,
    clientAuth: 'body',
    tokenAnswer: (at) => ({
      access_token: at,
      expires_in: 14400,
      token_type: 'bearer',
      scope: 'account_info.read',
      account_id: 'dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc',
      uid: '12345',
    }),
    resources: [
      {
        method: 'POST',
        path: '/dropbox/2/users/get_current_account',
        // An RPC endpoint without arguments: no body, or the JSON `null`; an empty JSON body is a 400.
        check: (req) => {
          const body = typeof req.body === 'string' ? req.body : '';
          if (body !== '' && body !== 'null') return `unexpected body ${body}`;
          return req.is('application/json') && body === '' ? 'empty body sent as application/json' : undefined;
        },
        body: {
          account_id: 'dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc',
          name: { given_name: 'Franz', surname: 'Ferdinand', familiar_name: 'Franz', display_name: 'Franz Ferdinand (Personal)', abbreviated_name: 'FF' },
          email: 'franz@dropbox.com',
          email_verified: true,
          disabled: false,
          locale: 'en',
          referral_link: 'https://db.tt/ZITNuhtI',
          is_paired: false,
          account_type: { '.tag': 'basic' },
          root_info: { '.tag': 'user', root_namespace_id: '3235641', home_namespace_id: '3235641' },
          country: 'US',
        },
      },
    ],
    overrides: { ProfileURL: '/dropbox/2/users/get_current_account' },
    unverified: (b) => ({ ...b, email_verified: false }),
    expected: { userId: 'dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc', email: 'franz@dropbox.com', displayName: 'Franz Ferdinand' },
  },
  {
    name: 'digitalocean',
    authorize: '/digitalocean/v1/oauth/authorize',
    token: '/digitalocean/v1/oauth/token',
    scope: 'read',
    pkce: false,
    clientAuth: 'body',
    tokenAnswer: (at) => ({
      access_token: at,
      token_type: 'bearer',
      expires_in: 2592000,
      refresh_token: `dor_v1_${random()}`,
      scope: 'read',
      info: { name: 'Sammy the Shark', email: 'sammy@digitalocean.com', uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef' },
    }),
    resources: [
      {
        method: 'GET',
        path: '/digitalocean/v2/account',
        body: {
          account: {
            droplet_limit: 25,
            floating_ip_limit: 5,
            volume_limit: 10,
            email: 'sammy@digitalocean.com',
            name: 'Sammy the Shark',
            uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef',
            email_verified: true,
            status: 'active',
            status_message: '',
            team: { uuid: '5df3e3004a17e242b7c20ca6c9fc25b701a47ece', name: 'My Team' },
          },
        },
      },
    ],
    overrides: { ProfileURL: '/digitalocean/v2/account' },
    unverified: (b) => ({ account: { ...(b.account as Json), email_verified: false } }),
    // goth's digitalocean user has no first or last name: TIB's DisplayName is the email.
    expected: { userId: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef', email: 'sammy@digitalocean.com', displayName: 'sammy@digitalocean.com' },
  },
  {
    name: 'bitbucket',
    authorize: '/bitbucket/site/oauth2/authorize',
    token: '/bitbucket/site/oauth2/access_token',
    scope: 'account email',
    pkce: false,
    clientAuth: 'basic',
    tokenAnswer: (at) => ({
      access_token: at,
      scopes: 'account email',
      expires_in: 7200,
      refresh_token: random(),
      token_type: 'bearer',
      state: 'authorization_code',
    }),
    resources: [
      {
        method: 'GET',
        path: '/bitbucket/2.0/user',
        body: {
          type: 'user',
          uuid: '{d301aafa-d676-4ee0-88be-962be7417567}',
          account_id: '557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443',
          nickname: 'evzijst',
          display_name: 'Erik van Zijst',
          links: { avatar: { href: 'https://avatar-management.services.atlassian.com/557058/ec1a.png' }, html: { href: 'https://bitbucket.org/%7Bd301aafa-d676-4ee0-88be-962be7417567%7D/' } },
          created_on: '2010-07-07T03:13:18.432316+00:00',
          account_status: 'active',
          is_staff: false,
        },
      },
      {
        method: 'GET',
        path: '/bitbucket/2.0/user/emails',
        body: {
          pagelen: 10,
          page: 1,
          size: 2,
          values: [
            { is_primary: false, is_confirmed: true, type: 'email', email: 'erik@old.example.com', links: { self: { href: 'https://api.bitbucket.org/2.0/user/emails/erik@old.example.com' } } },
            { is_primary: true, is_confirmed: true, type: 'email', email: 'erik@example.com', links: { self: { href: 'https://api.bitbucket.org/2.0/user/emails/erik@example.com' } } },
          ],
        },
      },
    ],
    overrides: { ProfileURL: '/bitbucket/2.0/user', EmailURL: '/bitbucket/2.0/user/emails' },
    // As github: goth's bitbucket user has no first/last name (TIB's DisplayName would be the email).
    expected: { userId: '{d301aafa-d676-4ee0-88be-962be7417567}', email: 'erik@example.com', displayName: 'Erik van Zijst' },
  },
  {
    name: 'salesforce',
    authorize: '/salesforce/services/oauth2/authorize',
    token: '/salesforce/services/oauth2/token',
    pkce: true,
    clientAuth: 'body',
    // The identity URL comes from the token answer's `id` (no ProfileURL override below).
    tokenAnswer: (at, base) => ({
      access_token: at,
      signature: 'uCk0cX5ISjH6Lq5o6gRrJ5eRHr3YOkdBkc3VFyyOM7o=',
      scope: 'id api',
      instance_url: 'https://example.my.salesforce.com',
      id: `${base}/salesforce/id/00Dx0000000BV7z/005x00000012Q9P`,
      token_type: 'Bearer',
      issued_at: '1278448101416',
    }),
    resources: [
      {
        method: 'GET',
        path: '/salesforce/id/00Dx0000000BV7z/005x00000012Q9P',
        body: {
          id: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
          asserted_user: true,
          user_id: '005x00000012Q9P',
          organization_id: '00Dx0000000BV7z',
          username: 'alan.van@example.com',
          nick_name: 'alan.van',
          display_name: 'Alan Van',
          email: 'alan.van@example.com',
          email_verified: true,
          first_name: 'Alan',
          last_name: 'Van',
          timezone: 'America/Los_Angeles',
          photos: { picture: 'https://example.file.force.com/profilephoto/005/F', thumbnail: 'https://example.file.force.com/profilephoto/005/T' },
          addr_country: 'US',
          active: true,
          user_type: 'STANDARD',
          language: 'en_US',
          locale: 'en_US',
          utcOffset: -28800000,
          last_modified_date: '2024-06-11T21:28:31Z',
          is_app_installed: true,
        },
      },
    ],
    overrides: {},
    // Some APIs send the flag as a string; "false" is false.
    unverified: (b) => ({ ...b, email_verified: 'false' }),
    expected: { userId: '005x00000012Q9P', email: 'alan.van@example.com', displayName: 'Alan Van' },
  },
];

/** verify_credentials as raw JSON: the numeric id is beyond 2^53, which is why twitter sends id_str. */
const TWITTER_USER = `{"id":1480211357846523904,"id_str":"1480211357846523904","name":"Sean Cook","screen_name":"theSeanCook",
"location":"San Francisco","description":"Keeping it real","url":null,"protected":false,"followers_count":1024,"friends_count":256,
"listed_count":3,"created_at":"Mon Jan 10 16:33:20 +0000 2022","favourites_count":12,"verified":false,"statuses_count":42,
"profile_image_url_https":"https://pbs.twimg.com/profile_images/1480211460/normal.jpg","default_profile":true,"email":"sean@example.com"}`;
// As github: goth's twitter user has no first/last name (TIB's DisplayName would be the email).
const TWITTER_EXPECTED: Expected = { userId: '1480211357846523904', email: 'sean@example.com', displayName: 'Sean Cook' };

// ---------------------------------------------------------------------------------------------------------
// OAuth 1.0a signatures (RFC 5849), written here from the RFC: never the broker's own code.
// ---------------------------------------------------------------------------------------------------------

/** RFC 5849 3.6: UTF-8 bytes; unreserved characters as they are, every other byte as %XX (upper case). */
function oauthEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const byBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** RFC 5849 3.4.1 (signature base string) and 3.4.2 (HMAC-SHA1). */
function hmacSha1Signature(method: string, baseUri: string, params: Array<[string, string]>, consumerSecret: string, tokenSecret: string): string {
  const normalized = params
    .map(([k, v]) => [oauthEncode(k), oauthEncode(v)] as const)
    .sort(([a, x], [b, y]) => (a === b ? byBytes(x, y) : byBytes(a, b)))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const base = [method.toUpperCase(), oauthEncode(baseUri), oauthEncode(normalized)].join('&');
  return createHmac('sha1', `${oauthEncode(consumerSecret)}&${oauthEncode(tokenSecret)}`).update(base).digest('base64');
}

/** application/x-www-form-urlencoded pairs, decoded (RFC 5849 3.4.1.3.1). */
function formPairs(s: string): Array<[string, string]> {
  const decode = (x: string) => decodeURIComponent(x.replace(/\+/g, ' '));
  return s
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [decode(p), ''] : [decode(p.slice(0, i)), decode(p.slice(i + 1))];
    });
}

/** The protocol parameters of an `Authorization: OAuth ...` header (RFC 5849 3.5.1). */
function oauthHeader(value: string | undefined): Record<string, string> | undefined {
  if (!value || !/^OAuth\s/i.test(value)) return undefined;
  const out: Record<string, string> = {};
  for (const m of value.slice(6).matchAll(/([^\s=,]+)="([^"]*)"/g)) out[decodeURIComponent(m[1]!)] = decodeURIComponent(m[2]!);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The fake providers: one express app, a path prefix per provider.
// ---------------------------------------------------------------------------------------------------------

interface FakeProviders {
  url: string;
  /** Callback URLs registered for every client (set once the broker listens). */
  redirectUris: string[];
  /** Every check a request to a fake failed: stays empty when the broker speaks each protocol right. */
  problems: string[];
  /** Codes, tokens, verifiers and secrets handed out, to look for in the broker's logs. */
  secrets: string[];
  tokenRequests: Record<string, number>;
  /** The next token request of that provider answers this instead. */
  failNextToken: Partial<Record<string, { status: number; body: Json }>>;
  /** The next user endpoint answer of that provider says its email is not verified. */
  unverifiedNext: Partial<Record<string, boolean>>;
  close(): Promise<void>;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function mountOAuth2(app: express.Express, fake: FakeProviders, p: OAuth2Provider): void {
  const { id, secret } = client(p.name);
  const codes = new Map<string, { redirectUri: string; challenge?: string }>();
  const tokens = new Set<string>();
  const problem = (what: string) => {
    fake.problems.push(`${p.name}: ${what}`);
    return what;
  };
  const wrongOf = (checks: Array<string | false | undefined>) => checks.filter((c): c is string => typeof c === 'string');

  app.get(p.authorize, (req, res) => {
    const q = (k: string) => str(req.query[k]);
    const redirectUri = q('redirect_uri') ?? '';
    const wrong = wrongOf([
      q('client_id') !== id && 'client_id',
      !fake.redirectUris.includes(redirectUri) && `redirect_uri ${redirectUri}`,
      q('response_type') !== 'code' && 'response_type',
      q('scope') !== p.scope && `scope ${q('scope')}`,
      !q('state') && 'state',
      ...Object.entries(p.authParams ?? {}).map(([k, v]) => q(k) !== v && k),
      p.pkce && (q('code_challenge_method') !== 'S256' || !/^[\w-]{43}$/.test(q('code_challenge') ?? '')) && 'PKCE S256 code_challenge',
    ]);
    if (wrong.length > 0) return res.status(400).json({ error: 'invalid_request', error_description: problem(`authorize: ${wrong.join(', ')}`) });
    // The user is signed in at the provider and consents at once.
    const code = random();
    codes.set(code, { redirectUri, challenge: q('code_challenge') });
    fake.secrets.push(code);
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', q('state') ?? '');
    res.redirect(302, back.toString());
  });

  app.post(p.token, express.urlencoded({ extended: false }), (req, res) => {
    fake.tokenRequests[p.name] = (fake.tokenRequests[p.name] ?? 0) + 1;
    const b = (req.body ?? {}) as Record<string, string | undefined>;
    const grant = codes.get(b.code ?? '');
    codes.delete(b.code ?? ''); // a code is used once, whatever happens
    const basic = /^Basic (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    const pair = basic ? Buffer.from(basic, 'base64').toString('utf8') : '';
    const [basicId, basicSecret] = [pair.slice(0, pair.indexOf(':')), pair.slice(pair.indexOf(':') + 1)].map(decodeURIComponent);
    // RFC 6749 2.3.1: one client authentication method per request.
    const clientOk =
      p.clientAuth === 'basic' ? basic !== undefined && basicId === id && basicSecret === secret && b.client_secret === undefined : !basic && b.client_id === id && b.client_secret === secret;
    const wrong = wrongOf([
      !req.is('application/x-www-form-urlencoded') && 'content type',
      !clientOk && `client authentication (${p.clientAuth})`,
      b.grant_type !== 'authorization_code' && 'grant_type',
      !grant && 'unknown or used code',
      grant !== undefined && b.redirect_uri !== grant.redirectUri && 'redirect_uri differs from the authorization request',
      grant?.challenge !== undefined && createHash('sha256').update(b.code_verifier ?? '').digest('base64url') !== grant.challenge && 'PKCE code_verifier',
    ]);
    if (wrong.length > 0) return res.status(p.errorStatus ?? 400).json({ error: 'invalid_grant', error_description: problem(`token: ${wrong.join(', ')}`) });
    const injected = fake.failNextToken[p.name];
    if (injected) {
      delete fake.failNextToken[p.name];
      return res.status(injected.status).json(injected.body);
    }
    const accessToken = random(30);
    tokens.add(accessToken);
    fake.secrets.push(accessToken);
    res.set('Cache-Control', 'no-store').json(p.tokenAnswer(accessToken, fake.url));
  });

  for (const r of p.resources) {
    const handler = (req: Request, res: Response) => {
      const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
      if (!token || !tokens.has(token)) {
        problem(`${r.method} ${r.path}: no valid Bearer token`);
        return res.status(401).json({ message: 'Bad credentials' });
      }
      const wrong = wrongOf([...Object.entries(r.query ?? {}).map(([k, v]) => str(req.query[k]) !== v && `query ${k}=${String(req.query[k])}`), r.check?.(req)]);
      if (wrong.length > 0) return res.status(400).json({ message: problem(`${r.method} ${r.path}: ${wrong.join(', ')}`) });
      if (r === p.resources[0] && p.unverified && fake.unverifiedNext[p.name]) {
        delete fake.unverifiedNext[p.name];
        return res.json(p.unverified(r.body as Json));
      }
      if (typeof r.body === 'string') return res.type('application/json').send(r.body);
      res.json(r.body);
    };
    const text = express.text({ type: () => true });
    if (r.method === 'GET') app.get(r.path, text, handler);
    else app.post(r.path, text, handler);
  }
}

/** twitter: OAuth 1.0a request_token, authorize, access_token and verify_credentials, every request signed. */
function mountTwitter(app: express.Express, fake: FakeProviders): void {
  const { id: consumerKey, secret: consumerSecret } = client('twitter');
  const requestTokens = new Map<string, { secret: string; callback: string; verifier?: string }>();
  const accessTokens = new Map<string, string>();
  const nonces = new Set<string>();
  const unauthorised = (res: Response, what: string) => {
    fake.problems.push(`twitter: ${what}`);
    res.status(401).json({ errors: [{ code: 32, message: 'Could not authenticate you.' }] });
  };

  /** The request's oauth_* parameters when its signature verifies with `tokenSecret` for its token. */
  const verify = (req: Request, tokenSecret: (token: string | undefined) => string | undefined): Record<string, string> | string => {
    const oauth = oauthHeader(req.get('authorization'));
    if (!oauth) return 'no OAuth Authorization header';
    const ts = tokenSecret(oauth.oauth_token);
    if (ts === undefined) return `unknown token ${oauth.oauth_token}`;
    if (oauth.oauth_consumer_key !== consumerKey) return 'oauth_consumer_key';
    if (oauth.oauth_signature_method !== 'HMAC-SHA1') return 'oauth_signature_method';
    if (oauth.oauth_version !== undefined && oauth.oauth_version !== '1.0') return 'oauth_version';
    if (!/^\d+$/.test(oauth.oauth_timestamp ?? '') || Math.abs(Number(oauth.oauth_timestamp) - Date.now() / 1000) > 300) return 'oauth_timestamp';
    if (!oauth.oauth_nonce || nonces.has(oauth.oauth_nonce)) return 'missing or reused oauth_nonce';
    nonces.add(oauth.oauth_nonce);
    const url = new URL(req.originalUrl, `http://${req.get('host')}`);
    const body = typeof req.body === 'object' && req.body !== null ? Object.entries(req.body as Record<string, string>) : [];
    const params: Array<[string, string]> = [...Object.entries(oauth).filter(([k]) => k !== 'oauth_signature' && k !== 'realm'), ...formPairs(url.search.slice(1)), ...body];
    const expected = hmacSha1Signature(req.method, `${url.protocol}//${url.host}${url.pathname}`, params, consumerSecret, ts);
    return oauth.oauth_signature === expected ? oauth : `bad signature on ${req.method} ${url.pathname}`;
  };
  const form = express.urlencoded({ extended: false });

  app.post('/twitter/oauth/request_token', form, (req, res) => {
    const oauth = verify(req, (token) => (token === undefined ? '' : undefined));
    if (typeof oauth === 'string') return unauthorised(res, `request_token: ${oauth}`);
    const callback = oauth.oauth_callback ?? '';
    // Registered callbacks have no query; the request may add one.
    if (!fake.redirectUris.includes(callback.split('?')[0]!)) return unauthorised(res, `request_token: callback ${callback} not registered`);
    const token = random(20);
    const secret = random(30);
    requestTokens.set(token, { secret, callback });
    fake.secrets.push(secret);
    res.type('text/html').send(`oauth_token=${token}&oauth_token_secret=${secret}&oauth_callback_confirmed=true`);
  });

  app.get('/twitter/oauth/authorize', (req, res) => {
    const token = str(req.query.oauth_token) ?? '';
    const pending = requestTokens.get(token);
    if (!pending || pending.verifier) {
      fake.problems.push('twitter: authorize with an unknown or used request token');
      return res.status(400).type('text/html').send('<h1>This page is no longer valid.</h1>');
    }
    pending.verifier = random(24);
    fake.secrets.push(pending.verifier);
    const back = new URL(pending.callback);
    back.searchParams.set('oauth_token', token);
    back.searchParams.set('oauth_verifier', pending.verifier);
    res.redirect(302, back.toString());
  });

  app.post('/twitter/oauth/access_token', form, (req, res) => {
    fake.tokenRequests.twitter = (fake.tokenRequests.twitter ?? 0) + 1;
    const oauth = verify(req, (token) => requestTokens.get(token ?? '')?.secret);
    if (typeof oauth === 'string') return unauthorised(res, `access_token: ${oauth}`);
    const pending = requestTokens.get(oauth.oauth_token ?? '');
    requestTokens.delete(oauth.oauth_token ?? ''); // a request token is exchanged once
    if (!pending?.verifier || oauth.oauth_verifier !== pending.verifier) return unauthorised(res, 'access_token: oauth_verifier');
    const token = `1480211357846523904-${random(20)}`;
    const secret = random(30);
    accessTokens.set(token, secret);
    fake.secrets.push(token, secret);
    res.type('text/html').send(`oauth_token=${token}&oauth_token_secret=${secret}&user_id=1480211357846523904&screen_name=theSeanCook`);
  });

  app.get('/twitter/1.1/account/verify_credentials.json', (req, res) => {
    const oauth = verify(req, (token) => accessTokens.get(token ?? ''));
    if (typeof oauth === 'string') return unauthorised(res, `verify_credentials: ${oauth}`);
    // Without include_email=true twitter leaves the email out.
    if (req.query.include_email !== 'true') fake.problems.push('twitter: verify_credentials without include_email=true');
    res.type('application/json').send(TWITTER_USER);
  });
}

async function startFakeProviders(): Promise<FakeProviders> {
  const app = express();
  const fake: FakeProviders = {
    url: '',
    redirectUris: [],
    problems: [],
    secrets: [],
    tokenRequests: {},
    failNextToken: {},
    unverifiedNext: {},
    close: async () => undefined,
  };
  for (const p of OAUTH2) mountOAuth2(app, fake, p);
  mountTwitter(app, fake);
  app.use((req, res) => {
    fake.problems.push(`no such endpoint: ${req.method} ${req.path}`);
    res.status(404).json({ message: 'Not Found' });
  });
  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return fake;
}

// ---------------------------------------------------------------------------------------------------------
// The broker, and a browser to drive it.
// ---------------------------------------------------------------------------------------------------------

let idp: FakeProviders;
let stub: TykStub;
let broker: TestBroker;

/** `strict`: no entry sets AllowUnverifiedEmail; otherwise linkedin does, as its API states no verification. */
function useProviders(strict = false) {
  const at = (path: string) => `${idp.url}${path}`;
  return [
    ...OAUTH2.map((p) => ({
      Name: p.name,
      Key: client(p.name).id,
      Secret: client(p.name).secret,
      AuthURL: at(p.authorize),
      TokenURL: at(p.token),
      ...Object.fromEntries(Object.entries(p.overrides).map(([k, v]) => [k, at(v ?? '')])),
      ...(p.name === 'linkedin' && !strict ? { AllowUnverifiedEmail: true } : {}),
    })),
    {
      Name: 'twitter',
      Key: client('twitter').id,
      Secret: client('twitter').secret,
      AuthURL: `${idp.url}/twitter/oauth/authorize`,
      TokenURL: `${idp.url}/twitter/oauth`, // the base of request_token and access_token
      ProfileURL: `${idp.url}/twitter/1.1/account/verify_credentials.json?include_email=true`,
    },
  ];
}

const PROFILES = { dashboard: 'social-dashboard', portal: 'social-portal', strict: 'social-strict' } as const;

function profiles(callbackBase: string) {
  const profile = (id: string, ActionType: string, ReturnURL: string, strict = false) => ({
    ID: id,
    Name: `Social ${id}`,
    OrgID: 'org-1',
    ActionType,
    ProviderName: 'SocialProvider',
    ReturnURL,
    IdentityHandlerConfig: { DashboardCredential: CRED },
    ProviderConfig: { CallbackBaseURL: callbackBase, UseProviders: useProviders(strict) },
  });
  return [
    profile(PROFILES.dashboard, 'GenerateOrLoginUserProfile', `${stub.url}/tap`),
    profile(PROFILES.portal, 'GenerateOrLoginDeveloperProfile', `${stub.url}/portal/sso/`),
    profile(PROFILES.strict, 'GenerateOrLoginUserProfile', `${stub.url}/tap`, true),
  ];
}

beforeAll(async () => {
  [idp, stub] = await Promise.all([startFakeProviders(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
  broker = await startTestBroker({
    config: { SessionSecret: 'a-long-random-test-session-secret', TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: profiles('http://127.0.0.1:1'),
  });
  // CallbackBaseURL names the broker, whose port is known only now: write the real profiles and reload them.
  await fs.writeFile(broker.profilesPath, JSON.stringify(profiles(broker.url), null, 2));
  expect(await broker.broker.reload()).toEqual({ ok: true, problems: [] });
  for (const id of Object.values(PROFILES)) {
    for (const p of useProviders()) idp.redirectUris.push(`${broker.url}/auth/${id}/${p.Name}/callback`);
  }
}, 30_000);
afterAll(async () => {
  await broker?.close();
  await stub?.close();
  await idp?.close();
});
beforeEach(() => stub.reset());
afterEach(() => {
  const problems = idp.problems.splice(0);
  expect(problems).toEqual([]);
});

interface Page {
  status: number;
  location: string;
  body: string;
}

/** Follows nothing by itself; keeps the cookies the broker sets (the fakes set none). */
/** One browser: its cookies (the broker's flow cookie among them) go with every request it makes. */
class Browser {
  private readonly jar = new CookieJar();

  hasFlowCookie(): boolean {
    return /(^|; )tib_flow_[\w-]{16}=[\w-]+/.test(this.jar.header(broker.url));
  }

  async get(url: string): Promise<Page> {
    const res = await fetchWithJar(url, this.jar);
    return { status: res.status, location: res.headers.get('location') ?? '', body: await res.text() };
  }
}

/** Start at the broker, pass the provider (which consents at once) and stop before the broker's callback. */
async function toCallback(profileId: string, provider: string, browser = new Browser()): Promise<{ browser: Browser; callbackUrl: string }> {
  const start = await browser.get(`${broker.url}/auth/${profileId}/${provider}`);
  expect([start.status, start.location.startsWith(`${idp.url}/`), browser.hasFlowCookie()]).toEqual([302, true, true]);
  const atProvider = await browser.get(start.location);
  if (atProvider.status !== 302) throw new Error(`${provider} refused the authorization request: ${atProvider.body}`);
  expect(atProvider.location.startsWith(`${broker.url}/auth/${profileId}/${provider}/callback?`)).toBe(true);
  return { browser, callbackUrl: atProvider.location };
}

async function login(profileId: string, provider: string): Promise<Page & { callbackUrl: string; browser: Browser }> {
  const { browser, callbackUrl } = await toCallback(profileId, provider);
  return { ...(await browser.get(callbackUrl)), callbackUrl, browser };
}

const ssoCalls = () => stub.requests.filter((r) => r.path === '/api/sso');
const lastFailureLog = () => broker.logs.filter((l) => l.includes('login failed')).at(-1) ?? '';

function expectRefused(page: Page, status = 400) {
  expect([page.status, JSON.parse(page.body) as unknown]).toEqual([status, { Status: 'error', Error: 'Login failed' }]);
}

// ---------------------------------------------------------------------------------------------------------

describe('the fake twitter checks signatures with its own RFC 5849 code', () => {
  it("agrees with twitter's documented examples", () => {
    // developer.x.com, "Creating a signature"
    const status: Array<[string, string]> = [
      ['status', 'Hello Ladies + Gentlemen, a signed OAuth request!'],
      ['include_entities', 'true'],
      ['oauth_consumer_key', 'xvz1evFS4wEEPTGEFPHBog'],
      ['oauth_nonce', 'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg'],
      ['oauth_signature_method', 'HMAC-SHA1'],
      ['oauth_timestamp', '1318622958'],
      ['oauth_token', '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb'],
      ['oauth_version', '1.0'],
    ];
    expect(hmacSha1Signature('POST', 'https://api.twitter.com/1.1/statuses/update.json', status, 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw', 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE')).toBe(
      'hCtSmYh+iHYCEqBWrE7C7hYmtUk=',
    );
    // twitter's former request_token example: a callback with its own query string
    const requestToken: Array<[string, string]> = [
      ['oauth_callback', 'http://localhost:3005/the_dance/process_callback?service_provider_id=11'],
      ['oauth_consumer_key', 'GDdmIQH6jhtmLUypg82g'],
      ['oauth_nonce', 'QP70eNmVz8jvdPevU3oJD2AfF7R7odC2XJcn4XlZJqk'],
      ['oauth_signature_method', 'HMAC-SHA1'],
      ['oauth_timestamp', '1272323042'],
      ['oauth_version', '1.0'],
    ];
    expect(hmacSha1Signature('POST', 'https://api.twitter.com/oauth/request_token', requestToken, 'MCD8BKwGdgPHvAuvgvz4EQpqDAtx89grbuNMRd7Eh98', '')).toBe('8wUi7m5HFQy76nowoCThusfgB+Q=');
  });
});

const ALL: Array<[string, Expected]> = [...OAUTH2.map((p): [string, Expected] => [p.name, p.expected]), ['twitter', TWITTER_EXPECTED]];

describe.each(ALL)('%s', (name, expected) => {
  it('dashboard login: 302 to ReturnURL?nonce=, with the email and display name in /api/sso', async () => {
    const page = await login(PROFILES.dashboard, name);
    expect([page.status, page.location]).toEqual([302, `${stub.url}/tap?nonce=${stub.issuedNonces.at(-1)}`]);
    expect(ssoCalls().map((r) => r.body)).toEqual([
      { ForSection: 'dashboard', OrgID: 'org-1', EmailAddress: expected.email, DisplayName: expected.displayName, GroupID: '', GroupsIDs: [], SSOOnlyForRegisteredUsers: false },
    ]);
  });

  it('portal login: the developer is created with sso_key <UserID>@<provider>.com', async () => {
    const ssoKey = `${expected.userId}@${name}.com`;
    const page = await login(PROFILES.portal, name);
    expect([page.status, page.location]).toEqual([302, `${stub.url}/portal/sso/?nonce=${stub.issuedNonces.at(-1)}`]);
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/sso', `GET /api/portal/developers/ssokey/${encodeURIComponent(ssoKey)}`, 'POST /api/portal/developers']);
    expect(ssoCalls()[0]?.body).toMatchObject({ ForSection: 'portal', EmailAddress: expected.email, DisplayName: expected.displayName });
    expect(stub.developers.get(ssoKey)).toMatchObject({ email: expected.email, sso_key: ssoKey, org_id: 'org-1', nonce: stub.issuedNonces.at(-1) });
  });
});

describe('the state binds a callback to one login in one browser', () => {
  it('a forged state is refused before the provider is called; the real one works once, its replay is refused', async () => {
    const { browser, callbackUrl } = await toCallback(PROFILES.dashboard, 'github');
    const tokenRequests = idp.tokenRequests.github ?? 0;
    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', random(32));
    expectRefused(await browser.get(forged.toString()));
    expect(lastFailureLog()).toContain('unknown, expired or already used state');
    expect(idp.tokenRequests.github ?? 0).toBe(tokenRequests);
    expect(ssoCalls()).toHaveLength(0);

    expect((await browser.get(callbackUrl)).status).toBe(302);
    expect(idp.tokenRequests.github).toBe(tokenRequests + 1);
    stub.reset();
    expectRefused(await browser.get(callbackUrl));
    expect(lastFailureLog()).toContain('unknown, expired or already used state');
    expect(idp.tokenRequests.github).toBe(tokenRequests + 1);
    expect(ssoCalls()).toHaveLength(0);
  });

  it('twitter: a replayed callback is refused too', async () => {
    const first = await login(PROFILES.dashboard, 'twitter');
    expect(first.status).toBe(302);
    stub.reset();
    expectRefused(await first.browser.get(first.callbackUrl));
    expect(ssoCalls()).toHaveLength(0);
  });

  it('a callback opened in another browser (without the login cookie) is refused', async () => {
    const { callbackUrl } = await toCallback(PROFILES.dashboard, 'gplus');
    expectRefused(await new Browser().get(callbackUrl));
    expect(lastFailureLog()).toContain('belongs to another browser');
    expect(ssoCalls()).toHaveLength(0);
  });
});

describe("email verification: each provider's documented flag", () => {
  const flagged = OAUTH2.filter((p) => p.unverified).map((p) => p.name);

  it('covers every preset with a verified flag', () => {
    expect(flagged).toEqual(['gplus', 'dropbox', 'digitalocean', 'salesforce']);
  });

  it.each(flagged)('%s: an address the provider does not mark verified is refused', async (name) => {
    idp.unverifiedNext[name] = true;
    expectRefused(await login(PROFILES.strict, name));
    expect(lastFailureLog()).toContain(`${name} does not say the email address is verified`);
    expect(ssoCalls()).toHaveLength(0);
  });

  it('linkedin, whose API states no verification, is refused without AllowUnverifiedEmail', async () => {
    expectRefused(await login(PROFILES.strict, 'linkedin'));
    expect(lastFailureLog()).toContain('linkedin does not say whether the email address is verified');
    expect(ssoCalls()).toHaveLength(0);
  });

  it.each(['github', 'bitbucket', 'twitter', 'gplus'])('%s: a verified address signs in without AllowUnverifiedEmail', async (name) => {
    expect((await login(PROFILES.strict, name)).status).toBe(302);
    expect(ssoCalls()).toHaveLength(1);
  });
});

describe('token endpoint errors end in the failure response', () => {
  it('github answers 200 with an error object (bad_verification_code)', async () => {
    idp.failNextToken.github = {
      status: 200,
      body: {
        error: 'bad_verification_code',
        error_description: 'The code passed is incorrect or expired.',
        error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code',
      },
    };
    expectRefused(await login(PROFILES.dashboard, 'github'));
    expect(lastFailureLog()).toContain('error=bad_verification_code');
    expect(ssoCalls()).toHaveLength(0);
  });

  it('bitbucket answers 401 invalid_client', async () => {
    idp.failNextToken.bitbucket = { status: 401, body: { error: 'invalid_client', error_description: 'Invalid OAuth client credentials' } };
    expectRefused(await login(PROFILES.portal, 'bitbucket'));
    expect(lastFailureLog()).toContain('token endpoint answered 401');
    expect(stub.requests).toHaveLength(0);
  });
});

describe('logs', () => {
  it('hold the logins but never a code, an access token, a token secret, a verifier or a client secret', () => {
    expect(broker.logs.filter((l) => l.includes('login succeeded')).length).toBeGreaterThanOrEqual(ALL.length * 2);
    const secrets = [...idp.secrets, ...[...OAUTH2.map((p) => p.name), 'twitter'].map((n) => client(n).secret)];
    expect(secrets.length).toBeGreaterThan(40);
    const text = broker.logs.join('\n');
    expect(secrets.filter((s) => text.includes(s))).toEqual([]);
  });
});
