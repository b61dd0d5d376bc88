/**
 * The outbound client for the Tyk Dashboard, Portal and Gateway admin APIs, built once per broker: one undici
 * keep-alive dispatcher (undici's request() costs a fraction of axios per call on the login path), a time limit
 * on every call, no redirects followed. Go's ProxyFromEnvironment is kept: HTTP_PROXY, HTTPS_PROXY and NO_PROXY
 * (or their lower-case spellings) route the calls through a proxy. URLs are TIB's `Endpoint + ":" + Port + path`.
 * Bodies are never logged (they carry nonces and keys).
 */
import { Agent, EnvHttpProxyAgent, request, type Dispatcher, type ProxyAgent } from 'undici';
import type { Config, PortalApiSettings, TykApiEndpoint } from '../config/types.js';
import { observeOutbound } from '../metrics.js';

export interface TykResponse {
  status: number;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
}

export type TykErrorKind = 'timeout' | 'network';

/** The call did not get an HTTP answer. */
export class TykCallError extends Error {
  constructor(
    readonly kind: TykErrorKind,
    readonly target: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TykCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** JSON-encoded when an object; sent as-is when a string (with contentType). */
  body?: unknown;
  contentType?: string;
  /** The path as errors name it, when the real one holds a secret (a key id): `/api/apis/<api>/keys/<key>`. */
  label?: string;
}

export interface TykApi {
  /** Dashboard/Portal API with a dashboard user's key: `Authorization: <credential>`. */
  dashboard(path: string, call: TykCall & { credential: string }): Promise<TykResponse>;
  /** Dashboard admin API: `Admin-Auth: <DashboardConfig.AdminSecret>`. */
  dashboardAdmin(path: string, call: TykCall): Promise<TykResponse>;
  /** Gateway API: `X-Tyk-Authorization: <GatewayConfig.AdminSecret>`. */
  gateway(path: string, call: TykCall): Promise<TykResponse>;
  /** Developer Portal admin API: `<PortalAPIConfig.Endpoint>/portal-api<path>` with `Authorization: <AdminToken>`. */
  portal(path: string, call: TykCall): Promise<TykResponse>;
  /** The same client (one connection pool) aimed at other targets: a profile's own TykAPISettings. */
  withSettings(settings: TykSettings): TykApi;
  close(): Promise<void>;
}

/** The targets a client calls: tib.conf's TykAPISettings, or a profile's merged over them. */
export type TykSettings = Pick<Config['TykAPISettings'], 'DashboardConfig' | 'GatewayConfig' | 'PortalAPIConfig'>;

/** `<Endpoint>/portal-api`, whatever trailing slashes the operator wrote. */
export function portalApiBase(p: PortalApiSettings): string {
  return `${p.Endpoint.replace(/\/+$/, '')}/portal-api`;
}

export interface TykApiOptions {
  /** Per-call limit, connect included (default TykAPISettings.Timeout). */
  timeoutMs?: number;
}

export function baseUrl(e: TykApiEndpoint): string {
  const endpoint = e.Endpoint.replace(/\/+$/, '');
  return e.Port ? `${endpoint}:${e.Port}` : endpoint;
}

/**
 * One URL path segment: percent-encoded except the characters RFC 3986 allows in a segment as they are
 * (unreserved, sub-delims, ":" and "@"), so a Base64 key id keeps its "=" while "/", "?", "#" and spaces are
 * escaped. TIB concatenates without escaping.
 */
export function pathSegment(value: string): string {
  return encodeURIComponent(value).replace(/%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/gi, (m) => decodeURIComponent(m));
}

/**
 * A Gateway listen path as a path prefix: "/oauth-api/", "oauth-api" and "/v1//api" give "/oauth-api" and
 * "/v1/api"; "/" and "" give "". Each segment is escaped (TIB writes "/" + path, so "/x/" became "//x/").
 */
export function listenPathPrefix(listenPath: string): string {
  return listenPath
    .split('/')
    .filter((s) => s !== '')
    .map((s) => `/${pathSegment(s)}`)
    .join('');
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy'];

/**
 * Direct keep-alive connections, or, when a proxy variable is set, undici's reading of HTTP(S)_PROXY/NO_PROXY.
 * Also the Okta sync client's transport (src/sync/okta/client.ts), with fewer connections.
 */
export function dispatcher(verify: boolean, timeoutMs: number, env: NodeJS.ProcessEnv, connections = 64): Dispatcher {
  const tls = { rejectUnauthorized: verify, minVersion: 'TLSv1.2' as const };
  const agent = { connections, keepAliveTimeout: 30_000, connect: { ...tls, timeout: timeoutMs } };
  // Built only when needed: undici flags its env-proxy agent experimental with a warning on first use.
  // As Go's ProxyFromEnvironment: loopback is never proxied. requestTls: the TLS to the Tyk API inside the
  // proxy's tunnel (EnvHttpProxyAgent passes it on to ProxyAgent).
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
  const proxied: EnvHttpProxyAgent.Options & { requestTls: ProxyAgent.Options['requestTls'] } = {
    ...agent,
    noProxy: noProxy.trim() === '*' ? '*' : `${noProxy},localhost,127.0.0.1,[::1]`,
    requestTls: tls,
  };
  if (PROXY_VARIABLES.some((v) => env[v])) return new EnvHttpProxyAgent(proxied);
  return new Agent(agent);
}

/** undici's ways of saying "too slow": our deadline's abort (a DOMException, not always this realm's Error), or its own timeouts. */
export function isTimeout(err: unknown): boolean {
  const { name, code } = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; code?: unknown };
  return name === 'TimeoutError' || code === 'UND_ERR_ABORTED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

/** The calls the actions make, as metric operations: user ids, key ids and listen paths never become labels. */
const OPERATIONS: ReadonlyArray<[RegExp, string]> = [
  [/^\/api\/portal\/developers\/ssokey\/[^/]+$/, '/api/portal/developers/ssokey/:key'],
  [/^\/api\/portal\/developers\/[^/]+$/, '/api/portal/developers/:id'],
  [/^\/api\/apis\/[^/]+\/keys\/[^/]+$/, '/api/apis/:api/keys/:key'],
  [/\/tyk\/oauth\/authorize-client\/?$/, '/tyk/oauth/authorize-client/'],
  [/^\/(api\/sso|admin\/sso|api\/keys|api\/portal\/developers)$/, ''],
  // The portal admin API (src/portal/api.ts): user and organisation ids are not labels either.
  [/^\/portal-api\/users\/\d+$/, '/portal-api/users/:id'],
  [/^\/portal-api\/organisations\/[^/]+\/teams$/, '/portal-api/organisations/:id/teams'],
  [/^\/portal-api\/(users|organisations)$/, ''],
];

export function operationLabel(method: string, path: string): string {
  const bare = path.split('?', 1)[0] ?? path;
  for (const [pattern, template] of OPERATIONS) if (pattern.test(bare)) return `${method}:${template || bare}`;
  return `${method}:other`;
}

export function createTykApi(config: Config, opts: TykApiOptions = {}): TykApi {
  const timeout = opts.timeoutMs ?? config.TykAPISettings.Timeout * 1000;
  // TIB's quirk (docs/tib-behaviour.md §1.5): HttpServerOptions.SSLInsecureSkipVerify applies to this client when UseSSL is on.
  const verify = !(config.HttpServerOptions.UseSSL && config.HttpServerOptions.SSLInsecureSkipVerify);
  const agent = dispatcher(verify, timeout, process.env);

  const send = async (base: string, path: string, headers: Record<string, string>, call: TykCall, metricPath = path): Promise<TykResponse> => {
    const body = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
    headers['User-Agent'] = 'identity-broker';
    if (body !== undefined) headers['Content-Type'] = call.contentType ?? 'application/json';
    const target = call.label ?? path;
    const started = performance.now();
    const observe = (ok: boolean) => observeOutbound('tyk', operationLabel(call.method, metricPath), (performance.now() - started) / 1000, ok);
    try {
      const res = await request(base + path, { method: call.method, headers, body, dispatcher: agent, maxRedirections: 0, signal: AbortSignal.timeout(timeout) });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      // A 4xx is an answer the actions act on (a developer not found yet, a wrong credential), not a failed call.
      observe(res.statusCode < 500);
      return { status: res.statusCode, json };
    } catch (err) {
      observe(false);
      const timedOut = isTimeout(err);
      const { code, message } = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
      const why = timedOut ? `no answer within ${timeout} ms` : typeof code === 'string' ? code : String(message ?? err);
      throw new TykCallError(timedOut ? 'timeout' : 'network', target, `${call.method} ${target}: ${why}`);
    }
  };

  const view = (t: TykSettings): TykApi => ({
    dashboard: (path, call) => send(baseUrl(t.DashboardConfig), path, { Authorization: call.credential }, call),
    dashboardAdmin: (path, call) => send(baseUrl(t.DashboardConfig), path, { 'Admin-Auth': t.DashboardConfig.AdminSecret }, call),
    gateway: (path, call) => send(baseUrl(t.GatewayConfig), path, { 'X-Tyk-Authorization': t.GatewayConfig.AdminSecret }, call),
    portal: (path, call) => send(portalApiBase(t.PortalAPIConfig), path, { Authorization: t.PortalAPIConfig.AdminToken }, call, `/portal-api${path}`),
    withSettings: view,
    // A view shares the pool: only the broker's own client closes it.
    close: () => Promise.resolve(),
  });
  // tib.conf's targets are read at each call (tests and embedders replace them on the live config). A view
  // reads its settings' fields at each call, so it is built again only when the settings object is replaced,
  // not per call (an object and its closures on every login's /api/sso call).
  let current = { settings: config.TykAPISettings, api: view(config.TykAPISettings) };
  const live = (): TykApi => {
    if (current.settings !== config.TykAPISettings) current = { settings: config.TykAPISettings, api: view(config.TykAPISettings) };
    return current.api;
  };
  return {
    ...current.api,
    dashboard: (path, call) => live().dashboard(path, call),
    dashboardAdmin: (path, call) => live().dashboardAdmin(path, call),
    gateway: (path, call) => live().gateway(path, call),
    portal: (path, call) => live().portal(path, call),
    close: () => agent.destroy(),
  };
}
