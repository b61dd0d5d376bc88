/**
 * Failures of calls to Tyk, in one shape: TIB's client message, a precise reason, an honest status, and for
 * the log the URL the call went to and, when the cause is typical, the setting to check.
 */
import type { Config, TykApiEndpoint } from '../config/types.js';
import { TykCallError } from '../tyk/client.js';
import type { ActionResult } from './action.js';

/** A Tyk API as failures name it: which one, its base URL, and the secret its calls carry. */
export interface TykTarget {
  api: 'Dashboard' | 'Gateway';
  /** `Endpoint:Port`, without any user:password. */
  base: string;
  /** The setting holding the secret the call is authorised with. */
  auth: 'DashboardCredential' | 'DashboardConfig.AdminSecret' | 'GatewayConfig.AdminSecret';
}

function baseOf(e: TykApiEndpoint): string {
  const endpoint = e.Endpoint.replace(/\/+$/, '').replace(/^(\w+:\/\/)[^@/]*@/, '$1');
  return e.Port ? `${endpoint}:${e.Port}` : endpoint;
}

export function tykTarget(config: Config, auth: TykTarget['auth']): TykTarget {
  const gateway = auth === 'GatewayConfig.AdminSecret';
  const e = gateway ? config.TykAPISettings.GatewayConfig : config.TykAPISettings.DashboardConfig;
  return { api: gateway ? 'Gateway' : 'Dashboard', base: baseOf(e), auth };
}

const setting = (t: TykTarget) => `TykAPISettings.${t.api}Config`;

/** The usual fix for an HTTP answer, when the status has a typical cause. */
export function statusHint(t: TykTarget, status: number): string | undefined {
  if (status === 401 || status === 403) {
    if (t.auth === 'DashboardCredential') {
      return "the Dashboard refused the profile's credential: check IdentityHandlerConfig.DashboardCredential against the portal's PORTAL_API_SECRET (or the Dashboard user's API key)";
    }
    if (t.auth === 'DashboardConfig.AdminSecret') return "check TykAPISettings.DashboardConfig.AdminSecret against the Dashboard's admin_secret";
    return 'check TykAPISettings.GatewayConfig.AdminSecret against the Gateway\'s "secret" (tyk.conf)';
  }
  if (status === 404 || status === 405) return `no such endpoint at ${t.base}: check that ${setting(t)}.Endpoint and Port point to the ${t.api}'s API (not another service)`;
  if (status >= 500) return `the ${t.api} failed: see its log`;
  return undefined;
}

/** The usual fix for a call that got no HTTP answer, from the error code in its message. */
export function networkHint(t: TykTarget, err: TykCallError): string | undefined {
  const m = err.message;
  const where = `${setting(t)}.Endpoint and Port`;
  if (err.kind === 'timeout') return `no answer in time: check that ${t.base} is the ${t.api} and reachable from the broker, or raise TykAPISettings.Timeout`;
  if (/ECONNREFUSED/.test(m)) return `nothing listens at ${t.base}: check ${where}, and that the ${t.api} runs`;
  if (/ENOTFOUND|EAI_AGAIN/.test(m)) return `the host name of ${t.base} does not resolve: check ${setting(t)}.Endpoint`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL|EPROTO|wrong version/i.test(m)) {
    return `TLS failed: the ${t.api}'s certificate is not trusted for that name, or ${t.base} does not speak the scheme given (http:// vs https://)`;
  }
  if (/ECONNRESET|EPIPE|socket hang up|other side closed/i.test(m)) return `the connection to ${t.base} was closed: is it the ${t.api}, and is a proxy in between?`;
  return undefined;
}

/** `POST /api/sso` -> `POST http://dashboard:3000/api/sso`. */
function targetOf(t: TykTarget, what: string): string {
  const m = /^(\S+) (\/.*)$/.exec(what);
  return m ? `${m[1]} ${t.base}${m[2]}` : `${t.base} ${what}`;
}

/** `message` is what the client sees: TIB's text for the action ("Login failed" for the SSO actions). */
export function upstreamFailure(what: string, status: number, message = 'Login failed', t?: TykTarget): ActionResult {
  const where = t && { target: targetOf(t, what), ...withHint(statusHint(t, status)) };
  return { kind: 'failure', failure: { reason: `${what} answered ${status}`, status: 502, message, ...where } };
}

export function callFailure(err: unknown, message = 'Login failed', t?: TykTarget): ActionResult {
  if (err instanceof TykCallError) {
    const where = t && { target: `${t.base}${err.target}`, ...withHint(networkHint(t, err)) };
    return { kind: 'failure', failure: { reason: err.message, status: err.kind === 'timeout' ? 504 : 502, message, ...where } };
  }
  throw err;
}

export function badAnswer(reason: string, message = 'Login failed', t?: TykTarget): ActionResult {
  return { kind: 'failure', failure: { reason, status: 502, message, ...(t && { target: t.base, hint: `is ${t.base} the ${t.api}'s API?` }) } };
}

function withHint(hint: string | undefined): { hint?: string } {
  return hint ? { hint } : {};
}

/** `url` with `name=value` added as a proper query parameter (TIB concatenates `?nonce=` blindly). */
export function withParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
}

/**
 * `url` with `name=value` added to its fragment (`#token=<key>`, as TIB), after any fragment it already has
 * (joined with "&"; TIB appends a second "#"). The value is percent-encoded; a hex key is sent as it is.
 */
export function withFragmentParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  const existing = u.hash.slice(1);
  const param = `${name}=${encodeURIComponent(value)}`;
  u.hash = existing ? `${existing}&${param}` : param;
  return u.toString();
}
