/**
 * ProviderModule: everything the broker knows about a provider, exported by the provider's own folder
 * (`providers/<name>/module.ts`), so that nothing outside it switches on a provider's name. Validation,
 * the AllowedIdPHosts check, --check, log masking, metrics and explain ask the module; an embedding
 * application registers its own through `createBroker({ providers: [module] })` and gets the same.
 * Dex's connector interfaces are the model (docs/embedding.md).
 */
import type { Identity } from '../identity/identity.js';
import type { FailureReason } from '../metrics.js';
import type { FieldReader } from '../profiles/fields.js';
import type { Profile } from '../profiles/profile.js';
import type { Provider, ProviderServices } from './provider.js';

/**
 * Builds a provider from a profile version (ProviderModule.create, or what ProviderModule.load gives). Taken
 * from a method so it is checked as `create` is: a ProviderModule<MyConfig> is still a ProviderModule.
 */
export type CreateProvider<C> = { create(p: ProviderProfile<C>, services: ProviderServices): Provider }['create'];

/** A host a profile makes the broker connect to, with the field that names it. */
export interface OutboundHost {
  field: string;
  host: string;
}

/** A profile as a provider is built from it: the profile and its ProviderConfig, read once per version. */
export interface ProviderProfile<C> {
  profile: Profile;
  config: C;
}

export interface ProviderModule<C = unknown> {
  /** The ProviderName profiles use. */
  readonly name: string;
  /**
   * Reads `ProviderConfig` (keys case-insensitive) into the provider's typed config, reporting each bad
   * field on the reader. `FailureRedirect` is the broker's and already read. Without it the config is the
   * raw object and unknown keys are not warned about.
   */
  readConfig?(r: FieldReader): C;
  /**
   * Builds the provider once per profile version (not per request). May throw a ProviderSetupError. A module
   * gives `create` or `load`.
   */
  create?(p: ProviderProfile<C>, services: ProviderServices): Provider;
  /**
   * Imports the provider's stack and gives its `create`, when the first profile that needs it is built
   * (TIB's built-in modules: a broker with only LDAP profiles never loads the SAML or OpenID Connect
   * libraries). Called once per registry (registry.ts prepare); what the module file itself imports is what
   * validation, --check, explain and the admin API need, so it stays light.
   */
  load?(): Promise<CreateProvider<C>>;
  /** Every host the config makes the broker connect to (checked against tib.conf `AllowedIdPHosts`). */
  outboundHosts?(config: C): OutboundHost[];
  /** Secret values in the config, masked in every log line while the profile is live. */
  secrets?(config: C): string[];
  /** Keeps logins in flight in a browser cookie sealed under a key from TYK_IB_SESSION_SECRET (which must then be set). */
  readonly usesLoginCookie?: boolean;
  /**
   * The `{provider}` URL segments a profile's logins start at (`/auth/{id}/{segment}`), for the lines
   * `npm start` prints; default: the module's name without "Provider", lower-cased.
   */
  loginSegments?(config: C): string[];
  /**
   * The identity this provider builds from a set of claims or attributes given as JSON (explain's dry run),
   * by the very function its logins use. `username` is what the user would type, for password logins.
   * Without it, explain reads OpenID Connect claims (sub, email, name, given_name, family_name).
   */
  identityFromClaims?(p: ProviderProfile<C>, claims: Record<string, unknown>, username: string): Identity;
  /** How a failure that carries no class (LoginFailure.class) is classed; DEFAULT_FAILURE_CLASSES without it. */
  readonly failureClasses?: FailureClasses;
  /**
   * The logout this config's provider offers (Provider.logout, docs/logout.md), for validation of the logout
   * keys; undefined or no method: none (the profile's logout keys are then ignored, with a warning).
   */
  logout?(config: C): { backChannel: boolean } | undefined;
}

/** `unreachable` for a 502/504 (the provider's outbound call failed), `refused` for any other 4xx. */
export interface FailureClasses {
  unreachable: FailureReason;
  refused: FailureReason;
}

export const DEFAULT_FAILURE_CLASSES: FailureClasses = { unreachable: 'idp_error', refused: 'bad_request' };

/** For a dry run of a provider whose claims were not valid (explain answers 400 with the message). */
export class ClaimsError extends Error {}

const text = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '');

/** OpenID Connect standard claims as an identity: the default of explain for a provider without its own reading. */
export function claimsIdentity(claims: Record<string, unknown>, provider: string): Identity {
  return { userId: text(claims.sub), email: text(claims.email), displayName: text(claims.name), firstName: text(claims.given_name), lastName: text(claims.family_name), raw: claims, provider };
}

/** The host of a URL setting, or nothing when it is empty or not a URL (validation reports that). */
export function urlHost(field: string, url: string): OutboundHost[] {
  if (url === '' || !URL.canParse(url)) return [];
  return [{ field, host: new URL(url).hostname }];
}
