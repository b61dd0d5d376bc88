/**
 * The outbound client for the Tyk Dashboard, Portal and Gateway admin APIs, built once per broker: one
 * axios instance with keep-alive agents, a timeout on every call, no redirects followed. URLs are TIB's
 * `Endpoint + ":" + Port + path`. Bodies are never logged (they carry nonces and keys).
 */
import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import type { Config, TykApiEndpoint } from '../config/types.js';

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
  close(): Promise<void>;
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

export function createTykApi(config: Config, opts: TykApiOptions = {}): TykApi {
  const timeout = opts.timeoutMs ?? config.TykAPISettings.Timeout * 1000;
  // TIB's quirk (spec 1.5): HttpServerOptions.SSLInsecureSkipVerify applies to this client when UseSSL is on.
  const verify = !(config.HttpServerOptions.UseSSL && config.HttpServerOptions.SSLInsecureSkipVerify);
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: verify, minVersion: 'TLSv1.2' });
  const client: AxiosInstance = axios.create({
    httpAgent,
    httpsAgent,
    timeout,
    maxRedirects: 0,
    responseType: 'text',
    transitional: { clarifyTimeoutError: true },
    validateStatus: () => true,
    headers: { 'User-Agent': 'identity-broker' },
  });

  const send = async (target: string, url: string, headers: Record<string, string>, call: TykCall): Promise<TykResponse> => {
    const isString = typeof call.body === 'string';
    const data = call.body === undefined ? undefined : isString ? call.body : JSON.stringify(call.body);
    if (data !== undefined) headers['Content-Type'] = call.contentType ?? 'application/json';
    try {
      const res = await client.request<string>({ url, method: call.method, headers, data, signal: AbortSignal.timeout(timeout) });
      let json: unknown;
      try {
        json = res.data ? JSON.parse(res.data) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, json };
    } catch (err) {
      const e = err as AxiosError;
      const timedOut = e.code === 'ETIMEDOUT' || e.code === 'ECONNABORTED' || e.code === 'ERR_CANCELED';
      throw new TykCallError(timedOut ? 'timeout' : 'network', target, `${call.method} ${target}: ${timedOut ? `no answer within ${timeout} ms` : (e.code ?? e.message)}`);
    }
  };

  const dash = () => baseUrl(config.TykAPISettings.DashboardConfig);
  return {
    dashboard: (path, call) => send(call.label ?? path, dash() + path, { Authorization: call.credential }, call),
    dashboardAdmin: (path, call) => send(call.label ?? path, dash() + path, { 'Admin-Auth': config.TykAPISettings.DashboardConfig.AdminSecret }, call),
    gateway: (path, call) => send(call.label ?? path, baseUrl(config.TykAPISettings.GatewayConfig) + path, { 'X-Tyk-Authorization': config.TykAPISettings.GatewayConfig.AdminSecret }, call),
    async close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
