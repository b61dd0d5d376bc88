/** Failures of calls to Tyk, in one shape: TIB's client message, a precise reason, an honest status. */
import { TykCallError } from '../tyk/client.js';
import type { ActionResult } from './action.js';

export function upstreamFailure(what: string, status: number): ActionResult {
  return { kind: 'failure', failure: { reason: `${what} answered ${status}`, status: 502, message: 'Login failed' } };
}

export function callFailure(err: unknown): ActionResult {
  if (err instanceof TykCallError) {
    return { kind: 'failure', failure: { reason: err.message, status: err.kind === 'timeout' ? 504 : 502, message: 'Login failed' } };
  }
  throw err;
}

export function badAnswer(reason: string): ActionResult {
  return { kind: 'failure', failure: { reason, status: 502, message: 'Login failed' } };
}

/** `url` with `name=value` added as a proper query parameter (TIB concatenates `?nonce=` blindly). */
export function withParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
}
