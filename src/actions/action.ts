/**
 * The action seam: an action takes (profile, identity, teams) and returns what the browser gets.
 * Actions know nothing about LDAP or OIDC; all Tyk wire formats live in actions/ and tyk/.
 */
import type { Config } from '../config/types.js';
import type { Identity } from '../identity/identity.js';
import type { TeamRule } from '../identity/mapping.js';
import type { Logger } from '../log.js';
import type { Profile } from '../profiles/profile.js';
import type { LoginFailure } from '../providers/provider.js';
import type { PortalServices } from '../portal/services.js';
import type { IdentityCache } from '../state/identity-cache.js';
import type { TykApi } from '../tyk/client.js';

export type ActionResult =
  /** 302 with Cache-Control: no-store (TIB used 301). */
  | { kind: 'redirect'; url: string }
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'text'; status: number; body: string }
  | { kind: 'failure'; failure: LoginFailure };

export interface ActionInput {
  profile: Profile;
  identity: Identity;
  /** Tyk group / portal team ids from the group mapping, in IdP order, without duplicates. */
  teams: string[];
  /** The same teams with the groups that gave them (the portal's "idp" membership reads them). */
  teamRules?: readonly TeamRule[];
  /** The IdP groups the profile read (CustomUserGroupField); undefined when it reads none. */
  groups?: readonly string[];
  /** The email and display name the SSO call should carry (Custom*Field already applied). */
  email: string;
  displayName: string;
  /** The user id the portal keys its developer on (CustomUserIDField applied); "" when it has none (no portal action then). */
  userId: string;
  /** The organisation the Dashboard SSO call carries, as explained (src/identity/org.ts); the profile's OrgID when unset. */
  orgId?: string;
}

export interface Action {
  run(input: ActionInput): Promise<ActionResult>;
  /**
   * Optional: what the action gave the user ends when their IdP session does (docs/logout.md). The token
   * actions delete the user's key as one token per user does and forget its record; `ssoKey` is
   * key-session.ts ssoKey() of the login's identity. The SSO actions keep nothing, so have none.
   */
  endSession?(ssoKey: string): Promise<{ revoked: number } | { failure: string }>;
}

/** What an action may use, built once per broker (broker.ts): the Tyk client and the identity cache decided there. */
export interface ActionDeps {
  /** tib.conf, for the Tyk targets that failures name (actions/failures.ts tykTarget). */
  config: Config;
  log: Logger;
  tyk: TykApi;
  /** Each user's last token, for one token per user (Redis with `BackEnd.Name: "redis"`, else memory). */
  identityCache: IdentityCache;
  /** The portal admin API, team directories and account links ("idp" membership, team names); the portal action makes its own when unset. */
  portal?: PortalServices;
}

/** Builds an action once per profile version (see runtime.ts). */
export type ActionFactory = (profile: Profile, deps: ActionDeps) => Action;
