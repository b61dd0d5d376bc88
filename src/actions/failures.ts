/** Failures of calls to Tyk, in one shape: TIB's client message, a precise reason, an honest status. */
import { TykCallError } from '../tyk/client.js';
import type { ActionResult } from './action.js';

/** `message` is what the client sees: TIB's text for the action ("Login failed" for the SSO actions). */
export function upstreamFailure(what: string, status: number, message = 'Login failed'): ActionResult {
  return { kind: 'failure', failure: { reason: `${what} answered ${status}`, status: 502, message } };
}

export function callFailure(err: unknown, message = 'Login failed'): ActionResult {
  if (err instanceof TykCallError) {
    return { kind: 'failure', failure: { reason: err.message, status: err.kind === 'timeout' ? 504 : 502, message } };
  }
  throw err;
}

export function badAnswer(reason: string, message = 'Login failed'): ActionResult {
  return { kind: 'failure', failure: { reason, status: 502, message } };
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
