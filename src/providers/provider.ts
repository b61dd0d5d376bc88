/**
 * The provider seam: a provider turns an HTTP request into an Identity (or a redirect to the IdP, a page
 * to show, or a failure). Providers know nothing about Tyk; the http layer runs the outcome through
 * constraints, group mapping and the profile's action.
 */
import type { Request, Response } from 'express';
import type { Config } from '../config/types.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../log.js';
import type { Profile } from '../profiles/profile.js';
import type { FlowStateStore } from '../state/flow-state.js';
import type { RedisClient } from '../state/redis-client.js';

/** Why a login failed. `reason` is logged once (never a secret); `message` is what the client may see. */
export interface LoginFailure {
  /** For the log: precise, no secrets, no tokens, no passwords. */
  reason: string;
  /** HTTP status when the profile has no FailureRedirect. */
  status: number;
  /** Client-facing text (TIB's message where TIB has one). Must not tell unknown user from wrong password. */
  message: string;
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

export interface Provider {
  /** Any method on `/auth/{id}/{provider}`. `providerSegment` is the `{provider}` URL segment. */
  start(req: Request, res: Response, providerSegment: string): Promise<ProviderOutcome>;
  /** Any method on `/auth/{id}/{provider}/callback`. */
  callback(req: Request, res: Response, providerSegment: string): Promise<ProviderOutcome>;
  /**
   * Optional: a document the provider publishes at `GET /auth/{id}/{provider}/metadata` (SAML's SP
   * metadata); undefined (or no method) is a 404.
   */
  metadata?(providerSegment: string): { contentType: string; body: string } | undefined;
  /** Release pooled connections and timers; called when the profile changes or the broker stops. */
  close(): Promise<void>;
}

/** What a provider may use; built once per broker. */
export interface ProviderDeps {
  config: Config;
  log: Logger;
  flowState: FlowStateStore;
  /** The broker's Redis client, when the configuration uses Redis (shared state across replicas). */
  redis?: RedisClient;
  /** Prefix of every key the broker writes to Redis (`BackEnd.KeyPrefix`, default `tib:`). */
  keyPrefix: string;
}

/** Builds a provider once per profile version (not per request). May throw a ProviderSetupError. */
export type ProviderFactory = (profile: Profile, deps: ProviderDeps) => Provider;

export class ProviderSetupError extends Error {}
