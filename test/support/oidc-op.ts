/**
 * A real OpenID Provider (oidc-provider, certified) running in the test process on an ephemeral loopback
 * port. Test accounts carry email, names and groups (an array, or a space-separated string). The HTTP
 * front counts discovery requests, can tamper with the next token or userinfo answer (bad signature,
 * wrong nonce re-signed with the OP's key, mismatched userinfo sub), rotates the signing key on demand,
 * stops and restarts; `login()` drives the OP's own login and consent pages. It serves plain HTTP, or HTTPS
 * with a given certificate; it records how the client authenticated at each token request, can advertise
 * other client authentication methods in discovery, and can play a token endpoint that compares Basic
 * credentials without percent-decoding them (as many real ones do). Back-channel logout is on: a client with a
 * backchannel_logout_uri gets the OP's logout_token when the user signs out at the OP (logoutAtOp), and
 * `sign()` makes tokens with the OP's own key for the behaviours of other OPs.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import Provider from 'oidc-provider';
import { fetchWithJar, type CookieJar } from './cookie-jar.js';

export const OP_ACCOUNTS: Record<string, Record<string, unknown>> = {
  alice: { email: 'alice@example.com', email_verified: true, given_name: 'Alice', family_name: 'Anders', name: 'Alice Anders', groups: ['devs', 'admins', 'devs'] },
  bob: { email: 'bob@example.com', email_verified: true, given_name: 'Bob', family_name: 'Berg', name: 'Bob Berg', groups: 'partners devs' },
  noemail: { given_name: 'No', family_name: 'Email', groups: [] },
  /** Claims alice's address without having verified it. */
  mallory: { email: 'alice@example.com', email_verified: false, given_name: 'Mallory', family_name: 'M', name: 'Mallory M', groups: ['admins'] },
  /** The same, with the flag as a string, as some IdPs send it. */
  trudy: { email: 'alice@example.com', email_verified: 'false', given_name: 'Trudy', family_name: 'T', name: 'Trudy T', groups: ['admins'] },
  /** A string "TRUE" counts as verified. */
  carol: { email: 'carol@example.com', email_verified: 'TRUE', given_name: 'Carol', family_name: 'C', name: 'Carol C', groups: [] },
  /** Her own verified address in the id_token; userinfo (OP_USERINFO) gives alice's, without a flag. */
  eve: { email: 'eve@example.com', email_verified: true, given_name: 'Eve', family_name: 'E', name: 'Eve E', groups: ['admins'] },
  /** No email in the id_token; userinfo (OP_USERINFO) gives a verified one. */
  uma: { given_name: 'Uma', family_name: 'U', name: 'Uma U', groups: [] },
};

/** Claims that differ in the userinfo answer (undefined: left out), for accounts whose two sources disagree. */
export const OP_USERINFO: Record<string, Record<string, unknown>> = {
  eve: { email: 'alice@example.com', email_verified: undefined },
  uma: { email: 'uma@example.com', email_verified: true },
};

export interface OpClient {
  client_id: string;
  client_secret: string;
  /** The broker's RSA public key: id_tokens for this client are encrypted to it. */
  encryptTo?: jose.JWK;
  /** Back-channel logout (OpenID Connect Back-Channel Logout 1.0): where the OP POSTs its logout_token. */
  backchannelLogoutUri?: string;
  /** The OP puts `sid` in id_tokens and logout tokens of this client (else `sub` only). */
  backchannelLogoutSessionRequired?: boolean;
  /** RP-initiated logout 1.0: where the OP may send the browser back after its end_session (the broker's logout callback). */
  postLogoutRedirectUris?: string[];
}

/** One back-channel logout the OP sent (oidc-provider's backchannel.success / backchannel.error events). */
export interface BackchannelSent {
  clientId: string;
  accountId: string;
  sid: string;
  /** Why the OP counted it failed (the RP did not answer 200), when it did. */
  error?: string;
}

export interface Tamper {
  idTokenSignature?: boolean;
  nonce?: string;
  userinfoSub?: string;
  /** Re-sign the id_token with a fresh key under a random kid that the OP never publishes. */
  unknownKid?: boolean;
}

/** One call to the token endpoint: how the client authenticated, and the answer's status. */
export interface TokenRequest {
  auth: 'basic' | 'body';
  /** The client id exactly as it appeared in the Basic credentials (before any decoding). */
  basicUser?: string;
  status: number;
}

export interface TestOp {
  issuer: string;
  discoveryUrl: string;
  discoveryRequests: number;
  jwksRequests: number;
  /** Applied to the next token/userinfo answer, then cleared. */
  tamper: Tamper;
  tokenRequests: TokenRequest[];
  /** Compare Basic credentials literally (no percent-decoding), as HCL Domino, Gravitee and others do. */
  rawBasicAuth: boolean;
  /** Advertised in discovery as token_endpoint_auth_methods_supported instead of oidc-provider's list. */
  authMethods?: string[];
  /** When it returns an answer for a token request (by how the client authenticated), that is sent instead of the OP's. */
  tokenAnswer?: (auth: 'basic' | 'body') => { status: number; headers: Record<string, string>; body: string } | undefined;
  rotateKeys(): Promise<void>;
  /** The back-channel logouts sent so far, in order. */
  backchannelSent: BackchannelSent[];
  /** Every id_token the token endpoint issued, in order (their `sid` names the OP session of a login). */
  idTokens: string[];
  /** A JWT signed with the OP's current signing key (its kid), to play an OP whose logout tokens differ. */
  sign(claims: jose.JWTPayload, header?: Partial<jose.JWTHeaderParameters>): Promise<string>;
  /** Close the listener and every connection (the IdP is down). */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function signingKey(): Promise<jose.JWK> {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid: `k-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, use: 'sig', alg: 'RS256' };
}

/** Base64 of `id:secret` read literally, then form-encoded as RFC 6749 says, so oidc-provider's decoding undoes only that. */
function literalBasic(authorization: string): string {
  const basic = /^Basic (\S+)$/i.exec(authorization);
  if (!basic) return authorization;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return authorization;
  return `Basic ${Buffer.from(`${encodeURIComponent(decoded.slice(0, i))}:${encodeURIComponent(decoded.slice(i + 1))}`).toString('base64')}`;
}

export async function startTestOp(opts: { redirectUris: string[]; clients: OpClient[]; tls?: { cert: string; key: string } }): Promise<TestOp> {
  let key = await signingKey();
  const server = opts.tls ? https.createServer({ cert: fs.readFileSync(opts.tls.cert), key: fs.readFileSync(opts.tls.key) }) : http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const build = (jwk: jose.JWK) =>
    new Provider(issuer, {
      clients: opts.clients.map((c) => ({
        client_id: c.client_id,
        client_secret: c.client_secret,
        redirect_uris: opts.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
        // The client's keys by jwks_uri, not inline: oidc-provider's plain-object check fails on objects that
        // crossed jest's VM realms, while JSON it fetches and parses itself is fine.
        ...(c.postLogoutRedirectUris ? { post_logout_redirect_uris: c.postLogoutRedirectUris } : {}),
        ...(c.backchannelLogoutUri ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: c.backchannelLogoutSessionRequired ?? false } : {}),
        ...(c.encryptTo ? { id_token_encrypted_response_alg: 'RSA-OAEP-256', id_token_encrypted_response_enc: 'A256GCM', jwks_uri: `${issuer}/test-client-jwks/${c.client_id}` } : {}),
      })),
      jwks: { keys: [jwk] },
      findAccount: (_ctx, id) => {
        const claims = OP_ACCOUNTS[id];
        return claims ? { accountId: id, claims: (use: string) => ({ sub: id, ...claims, ...(use === 'userinfo' ? OP_USERINFO[id] : {}) }) } : undefined;
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'], groups: ['groups'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: true }, encryption: { enabled: true }, backchannelLogout: { enabled: true }, rpInitiatedLogout: { enabled: true } },
      pkce: { required: () => true },
      ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
      cookies: { keys: ['oidc-op-test-cookie-key'] },
      // The OP fetches its test clients' keys from itself on loopback, which oidc-provider's SSRF guard refuses
      // once a global undici dispatcher exists in this realm (the broker's undici import installs one).
      fetch: (url, init) => fetch(url, { ...init, dispatcher: undefined } as RequestInit),
    });
  const backchannelSent: BackchannelSent[] = [];
  const idTokens: string[] = [];
  /** The OP built again (rotateKeys) reports to the same list. */
  const built = (p: Provider): Provider => {
    p.on('backchannel.success', (_ctx: unknown, client: { clientId: string }, accountId: string, sid: string) => backchannelSent.push({ clientId: client.clientId, accountId, sid }));
    p.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId: string }, accountId: string, sid: string) =>
      backchannelSent.push({ clientId: client.clientId, accountId, sid, error: err.message }),
    );
    p.on('grant.success', (ctx) => {
      const body = ctx.body as { id_token?: unknown } | undefined;
      if (typeof body?.id_token === 'string') idTokens.push(body.id_token);
    });
    return p;
  };
  let provider = built(build(key));
  const op: TestOp = {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    discoveryRequests: 0,
    jwksRequests: 0,
    tamper: {},
    tokenRequests: [],
    rawBasicAuth: false,
    async rotateKeys() {
      key = await signingKey();
      provider = built(build(key));
    },
    backchannelSent,
    idTokens,
    async sign(claims, header = {}) {
      return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid as string, ...header }).sign(await jose.importJWK(key, 'RS256'));
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async restart() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: () => op.stop(),
  };

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const jwksOf = path?.startsWith('/test-client-jwks/') ? opts.clients.find((c) => path === `/test-client-jwks/${c.client_id}`) : undefined;
    if (jwksOf?.encryptTo) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwksOf.encryptTo] }));
      return;
    }
    if (path === '/.well-known/openid-configuration') op.discoveryRequests++;
    if (path === '/jwks') op.jwksRequests++;
    if (path === '/token') {
      const authorization = req.headers.authorization;
      const basicUser = authorization ? Buffer.from(authorization.replace(/^Basic /i, ''), 'base64').toString('utf8').split(':')[0] : undefined;
      const record: TokenRequest = { auth: authorization ? 'basic' : 'body', basicUser, status: 0 };
      op.tokenRequests.push(record);
      res.on('finish', () => (record.status = res.statusCode));
      if (authorization && op.rawBasicAuth) req.headers.authorization = literalBasic(authorization);
      const answer = op.tokenAnswer?.(record.auth);
      if (answer) {
        res.writeHead(answer.status, answer.headers).end(answer.body);
        return;
      }
    }
    const methods = op.authMethods;
    if (path === '/.well-known/openid-configuration' && methods) {
      const chunks: Buffer[] = [];
      const end = res.end.bind(res);
      res.write = ((chunk: Buffer | string) => (chunks.push(Buffer.from(chunk)), true)) as typeof res.write;
      res.end = ((chunk?: Buffer | string) => {
        if (chunk) chunks.push(Buffer.from(chunk));
        const out = JSON.stringify({ ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as object), token_endpoint_auth_methods_supported: methods });
        res.setHeader('content-length', Buffer.byteLength(out));
        return end(out);
      }) as typeof res.end;
    }
    const t = op.tamper;
    const tamperToken = path === '/token' && (t.idTokenSignature || t.nonce || t.unknownKid);
    const tamperUserinfo = path === '/me' && t.userinfoSub;
    if (tamperToken || tamperUserinfo) {
      op.tamper = {};
      const chunks: Buffer[] = [];
      const end = res.end.bind(res);
      res.write = ((chunk: Buffer | string) => (chunks.push(Buffer.from(chunk)), true)) as typeof res.write;
      res.end = ((chunk?: Buffer | string) => {
        if (chunk) chunks.push(Buffer.from(chunk));
        void (async () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          if (tamperUserinfo) body.sub = t.userinfoSub;
          if (tamperToken && typeof body.id_token === 'string') {
            const [h, p, sig] = body.id_token.split('.') as [string, string, string];
            if (t.idTokenSignature) {
              body.id_token = `${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
            } else {
              const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as jose.JWTPayload;
              if (t.nonce) payload.nonce = t.nonce;
              const signWith = t.unknownKid ? await signingKey() : key;
              body.id_token = await new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: signWith.kid as string }).sign(await jose.importJWK(signWith, 'RS256'));
            }
          }
          const out = JSON.stringify(body);
          res.setHeader('content-length', Buffer.byteLength(out));
          end(out);
        })();
        return res;
      }) as typeof res.end;
    }
    provider.callback()(req, res);
  });
  return op;
}

/**
 * From an authorization URL at the OP to the broker callback URL the OP redirects to, filling the OP's own
 * login form (any password) and consent form as a person would. `base` is added to every request (e.g. a
 * dispatcher that trusts the test CA of an OP served over HTTPS).
 */
export async function loginAtOp(authUrl: string, jar: CookieJar, user: string, callbackPrefix: string, base: RequestInit = {}): Promise<string> {
  let url = authUrl;
  let init: RequestInit = {};
  for (let step = 0; step < 12; step++) {
    const res = await fetchWithJar(url, jar, { ...base, ...init });
    init = {};
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url).toString();
      if (url.startsWith(callbackPrefix)) return url;
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`OP page without a form (status ${res.status}): ${html.slice(0, 200)}`);
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) form.set(m[1]!, m[2]!);
    if (/name="login"/.test(html)) {
      form.set('login', user);
      form.set('password', 'any-password');
    }
    url = new URL(action, url).toString();
    init = { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('too many steps at the OP');
}

/**
 * The user signs out at the OP (its end_session endpoint, with the browser's cookies from loginAtOp, confirming
 * "sign me out" as a person would): the OP ends its session and POSTs a back-channel logout_token to every client
 * of that session with a backchannel_logout_uri, before it answers (see op.backchannelSent).
 */
export async function logoutAtOp(op: TestOp, jar: CookieJar, base: RequestInit = {}): Promise<void> {
  const page = await fetchWithJar(`${op.issuer}/session/end`, jar, base);
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !xsrf) throw new Error(`the OP's logout page has no form (status ${page.status}): ${html.slice(0, 200)}`);
  const confirm = await fetchWithJar(new URL(action, op.issuer).toString(), jar, {
    ...base,
    method: 'POST',
    body: new URLSearchParams({ xsrf, logout: 'yes' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (confirm.status < 300 || confirm.status >= 400) throw new Error(`the OP's logout confirmation answered ${confirm.status}`);
}

export interface OidcProfileOptions {
  id: string;
  /** The OP's discovery URL. */
  discoveryUrl: string;
  /** The broker's public base (CallbackBaseURL). */
  callbackBase: string;
  /** ReturnURL (the Tyk stub's `/tap`). */
  returnUrl: string;
  /** The profile's DashboardCredential. */
  credential: string;
  key: string;
  secret: string;
  scopes?: string[];
  orgId?: string;
  /** Extra ProviderConfig keys (CAFile, FailureRedirect, ...). */
  providerConfig?: Record<string, unknown>;
  /** The profile's Name; none by default. */
  name?: string;
  /** Profile-level keys (CustomUserGroupField, UserGroupMapping, ...). */
  profile?: Record<string, unknown>;
  /** Extra keys of the openid-connect entry in UseProviders (SkipUserInfoRequest, ...). */
  entry?: Record<string, unknown>;
}

/** A Dashboard-SSO profile that signs in through an OP with openid-connect, as most OIDC tests need. */
export function oidcProfile(o: OidcProfileOptions): Record<string, unknown> {
  return {
    ID: o.id,
    ...(o.name === undefined ? {} : { Name: o.name }),
    OrgID: o.orgId ?? 'org-oidc',
    ActionType: 'GenerateOrLoginUserProfile',
    ProviderName: 'SocialProvider',
    ReturnURL: o.returnUrl,
    IdentityHandlerConfig: { DashboardCredential: o.credential },
    ...o.profile,
    ProviderConfig: {
      CallbackBaseURL: o.callbackBase,
      UseProviders: [{ Name: 'openid-connect', Key: o.key, Secret: o.secret, DiscoverURL: o.discoveryUrl, Scopes: o.scopes ?? ['openid', 'email'], ...o.entry }],
      ...o.providerConfig,
    },
  };
}
