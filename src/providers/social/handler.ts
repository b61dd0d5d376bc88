/** One social provider entry of a profile (openid-connect, github, ...): how to start and finish a login. */
import type { Identity } from '../../identity/identity.js';

export interface FlowSecrets {
  state: string;
  nonce: string;
  /** PKCE verifier, when the provider takes PKCE. */
  codeVerifier?: string;
  /** OAuth 1.0a request token (twitter), set while building the authorization URL. */
  oauth1?: { token: string; tokenSecret: string };
}

export interface RedirectHandler {
  /** Does this provider take PKCE (decided per login, as discovery may say)? */
  usesPkce(): Promise<boolean>;
  /** Where to send the browser. May fetch discovery (cached). */
  authorizationUrl(redirectUri: string, secrets: FlowSecrets): Promise<URL>;
  /** Exchange the callback for an identity; throws FlowError with a reason on any failure. */
  finish(callbackUrl: URL, redirectUri: string, secrets: FlowSecrets): Promise<Identity>;
  close(): void;
}

/** A login that cannot complete; its message is the logged reason (never a token or code). The client gets a 400. */
export class FlowError extends Error {}

/** Error text without token material: the message of the error and of its cause. */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // idp-fetch.ts already folds the cause into the message; do not say it twice.
  const cause = err.cause instanceof Error && !err.message.includes(err.cause.message) ? `: ${err.cause.message}` : '';
  const code = (err as { code?: unknown }).code;
  return `${typeof code === 'string' ? `${code} ` : ''}${err.message}${cause}`;
}
