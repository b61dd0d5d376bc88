/**
 * The provider seam: a provider turns a login request into an Identity (or a redirect to the IdP, a page
 * to show, or a failure). Providers know nothing about Tyk, nor about the HTTP framework: the http layer
 * hands them a LoginRequest and writes the outcome, after running an identity through constraints, group
 * mapping and the profile's action. Everything else the broker knows about a provider is its ProviderModule
 * (module.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../identity/identity.js';
import type { FailureReason } from '../metrics.js';
import type { Logger } from '../log.js';
import type { BruteForceSettings } from '../config/types.js';
import type { BruteForceGuard } from '../state/brute-force.js';
import type { LoginSession, LoginSessions, SessionMatch } from '../state/login-sessions.js';
import type { ReplayCache } from '../state/replay-cache.js';

/** Why a login failed. `reason` is logged once (never a secret); `message` is what the client may see. */
export interface LoginFailure {
  /** For the log: precise, no secrets, no tokens, no passwords. */
  reason: string;
  /** HTTP status when the profile has no FailureRedirect. */
  status: number;
  /** Client-facing text (TIB's message where TIB has one). Must not tell unknown user from wrong password. */
  message: string;
  /**
   * The bounded class metrics and the audit log carry, said where the failure is made. Unset: the broker
   * derives it from the status and the provider module's failureClasses (login/failure-reason.ts).
   */
  class?: FailureReason;
  /** Optional HTML page to answer with instead of the JSON envelope (e.g. the login form with the message). */
  html?: string;
  /** Headers sent with `html` (e.g. the login form's CSP and X-Frame-Options). */
  headers?: Record<string, string>;
  /** For the log, when an outbound call failed: what it tried (a directory's host:port, an API's URL and path). */
  target?: string;
  /** For the log: the usual fix, when the failure has a typical cause (a refused credential, nothing listening). */
  hint?: string;
}

export type ProviderOutcome =
  | { kind: 'identity'; identity: Identity }
  /** Send the browser elsewhere (to the IdP); always 302 with Cache-Control: no-store. */
  | { kind: 'redirect'; url: string }
  /** Answer with a page the provider renders (e.g. the LDAP login form, a SAML POST form). */
  | { kind: 'page'; status: number; html: string; headers?: Record<string, string> }
  | { kind: 'failure'; failure: LoginFailure };

export interface CookieOptions {
  httpOnly: boolean;
  /** "none" only with `secure`. */
  sameSite: 'lax' | 'none';
  secure: boolean;
  path: string;
  maxAgeSeconds: number;
}

/** A request on `/auth/{id}/{provider}[/callback]`, as the http layer hands it to a provider. */
export interface LoginRequest {
  readonly method: string;
  /** The path and query as received (below any mount point: what the browser asked for). */
  readonly url: string;
  /** Where a page's form posts back to: the mount prefix and this route's path, without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, unknown>>;
  /** The parsed form fields (urlencoded or multipart, size-limited), or undefined. */
  readonly body: unknown;
  /** A request header, or undefined. */
  header(name: string): string | undefined;
  /** Whether the body is of this media type ("application/x-www-form-urlencoded", "multipart/form-data"). */
  is(type: string): boolean;
  /** The client prefers an HTML page (a browser's form post) to JSON. */
  readonly wantsHtml: boolean;
  /** The client's address, X-Forwarded-For believed only from TrustedProxies (client-ip.ts). */
  readonly clientIp: string;
  /**
   * The client a peer outside TrustedProxies names in X-Forwarded-For (client-ip.ts untrustedForwardedClient):
   * a balancer's word or a forger's, so only ever a finer key for the brute-force guard, never an address.
   */
  readonly forwardedClient?: string;
  /** `scheme://host` this request was sent to, for Origin checks. */
  readonly ownOrigin: string;
  /** Sets a cookie on the answer, whatever the outcome. */
  setCookie(name: string, value: string, options: CookieOptions): void;
  /**
   * The Node request and response, for the two providers that need the wire itself: the proxy streams an
   * unparsed body upstream, the Passport adapter hands both to a strategy (which may answer on its own).
   */
  readonly raw: { req: IncomingMessage; res: ServerResponse };
}

export interface Provider {
  /** Any method on `/auth/{id}/{provider}`. `providerSegment` is the `{provider}` URL segment. */
  start(req: LoginRequest, providerSegment: string): Promise<ProviderOutcome>;
  /** Any method on `/auth/{id}/{provider}/callback`. */
  callback(req: LoginRequest, providerSegment: string): Promise<ProviderOutcome>;
  /**
   * Optional: a document the provider publishes at `GET /auth/{id}/{provider}/metadata` (SAML's SP
   * metadata); undefined (or no method) is a 404.
   */
  metadata?(providerSegment: string): { contentType: string; body: string } | undefined;
  /**
   * Optional: every directory person this profile's login could let in, as the login would build their
   * identity (groups included); for directory sync (issue 20). Throws when the provider cannot list them
   * (no search account, directory down, too many entries); `signal` stops a listing under way.
   */
  people?(opts?: { signal?: AbortSignal }): Promise<Identity[]>;
  /**
   * Optional: logout through to the IdP (issue 21, docs/logout.md). A profile has logout on when its provider
   * has this and the profile sets TykLogoutURL, LogoutRedirectURLs or BackChannelLogout (http/logout-routes.ts).
   */
  logout?: ProviderLogout;
  /** Release pooled connections and timers; called when the profile changes or the broker stops. */
  close(): Promise<void>;
}

/** What a provider's logout endpoint received (ProviderLogout.receive). */
export type LogoutReceived =
  /** The IdP's answer to our logout, checked: `state` is ours (OIDC state, SAML RelayState), its flow cookie opens next. */
  | { kind: 'finished'; state: string }
  /**
   * The IdP's own logout request, checked: the broker drops the sessions that `match` names, then answers
   * with respond() (SAML: a signed LogoutResponse).
   */
  | { kind: 'idp-request'; match: SessionMatch; respond(): Promise<ProviderOutcome> }
  /** Anything else (bad signature, unknown InResponseTo, an error status): the profile's failure response. */
  | { kind: 'failure'; failure: LoginFailure };

export interface ProviderLogout {
  /**
   * The profile's own base URL with any mount prefix (OIDC: CallbackBaseURL), never the Host header: `returnUrl`
   * is `<baseUrl>/auth/{id}/logout/callback`, and the logout cookies are Secure when it is https. Unset: the
   * request's scheme decides Secure, and returnUrl is only the path.
   */
  readonly baseUrl?: string;
  /**
   * Sends the browser to the IdP's logout for this session (OIDC end_session_endpoint; SAML LogoutRequest by
   * redirect or an auto-POST page), carrying `state` (OIDC state / SAML RelayState) and coming back to
   * `returnUrl` (the broker's own, from the profile's base URL, never the Host header). undefined: the IdP offers
   * no logout (no end_session_endpoint, no SLO service in metadata): the broker goes straight on to the Tyk step.
   * `session` is undefined when the broker keeps nothing of this browser's login (gone, expired, never kept).
   */
  begin(session: LoginSession | undefined, ctx: { state: string; returnUrl: string }): Promise<ProviderOutcome | undefined>;
  /**
   * A request on the provider's logout endpoint (`/auth/{id}/logout/callback` for OIDC, `/auth/{id}/saml/slo`
   * for SAML, any method): the IdP's answer to our logout, or the IdP's own logout request, or a failure.
   */
  receive(req: LoginRequest): Promise<LogoutReceived>;
  /** OIDC only: a back-channel `logout_token`, verified; the sessions to drop (`POST /auth/{id}/backchannel-logout`). */
  backchannel?(logoutToken: string): Promise<{ match: SessionMatch } | { error: string }>;
}

/**
 * What a provider may use, built once per broker (broker.ts decides Redis or memory, once): no tib.conf, no
 * raw Redis client.
 */
export interface ProviderServices {
  log: Logger;
  /** Single-use marks (a SAML assertion's id, a verified login's state), shared by the replicas when login state is on Redis. */
  replayCache(): ReplayCache;
  /** One profile's brute-force guard: its override over tib.conf's `BruteForce`, counters shared like replay marks. */
  bruteForceGuard(profileId: string, override: Partial<BruteForceSettings>, log: Logger): BruteForceGuard;
  /** TYK_IB_SESSION_SECRET ("" when unset): the key of the sealed login flow cookies is derived from it. */
  sessionSecret: string;
  /** tib.conf `SSLInsecureSkipVerify`: TLS certificates of IdPs are not verified (TIB's switch). */
  insecureSkipVerify: boolean;
  /** The logins kept for logout (state/login-sessions.ts), on Redis when login state is; the http layer uses them. */
  loginSessions: LoginSessions;
}

export class ProviderSetupError extends Error {}
