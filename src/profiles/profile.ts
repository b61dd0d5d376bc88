/**
 * A TIB profile: one login flow. Field names, types and order are TIB's (docs/tib-behaviour.md §3.1); the JSON file is an
 * array of these. `ProviderConfig` keys are matched case-insensitively when a provider reads them;
 * `IdentityHandlerConfig` keys are exact-case.
 */
export const ACTION_TYPES = [
  'GenerateOrLoginUserProfile',
  'GenerateOrLoginDeveloperProfile',
  'GenerateOAuthTokenForClient',
  'GenerateTemporaryAuthToken',
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export interface ProviderConstraints {
  Domain: string;
  Group: string;
}

/** Ours: how a portal profile's login reconciles the portal account (src/portal/membership.ts, docs/portal-membership.md). */
export interface Membership {
  /** "portal": TIB's wire, the portal decides (frozen after the first team); "idp": the directory decides at every login. */
  Authority: 'portal' | 'idp';
  /** "all" mapped teams, or "first" (TIB's rule). */
  Teams: 'all' | 'first';
  /** A developer without a portal account is refused; nothing is created. */
  RegisteredOnly: boolean;
  DefaultRole: PortalRole;
  /** IdP group -> role; the first entry (in this order) whose group the person has wins. */
  RoleMapping: Record<string, PortalRole>;
  /** "fail": the login ends at the failure response when the admin API cannot be used; "continue": as "portal". */
  OnPortalError: 'fail' | 'continue';
}

/** The roles of an API consumer in their organisation (the portal's admin API, User-basis Role). */
export const PORTAL_ROLES = ['consumer-admin', 'consumer-team-member'] as const;
export type PortalRole = (typeof PORTAL_ROLES)[number];

/** Ours: directory sync into the portal (issue 20, docs/portal-membership.md): the people the directory holds, on a schedule. */
export interface SyncSettings {
  /**
   * Where the people come from: "ldap", the profile's own directory (its provider lists them, Provider.people);
   * "okta", an Okta org's Users and Groups APIs (`Okta`); "scim", what the IdP pushes to /scim/v2/{profile} (`SCIM`).
   */
  Source: 'ldap' | 'okta' | 'scim';
  /** Source "okta": an API Services app with private_key_jwt client credentials (RFC 7523). */
  Okta?: OktaSyncSource;
  /** Source "scim": the bearer token the IdP's provisioning sends. */
  SCIM?: ScimSyncSource;
  /** Seconds between runs; 0 runs only on demand (CLI, admin API). */
  IntervalSeconds: number;
  Deprovision: 'deactivate' | 'delete' | 'none';
  /** A run that would deprovision more than this share of the managed accounts applies none of it without --force. */
  MaxDeprovisionPercent: number;
}

export interface OktaSyncSource {
  /** The org's base URL, e.g. "https://example.okta.com". */
  OrgURL: string;
  ClientID: string;
  /** A PEM private key (PKCS#8 or PKCS#1, RSA or EC) or a private JWK, readable by the broker only. */
  PrivateKeyFile: string;
  /** The key's ID in the app's JWKS ("" when the app has one key). */
  KeyID: string;
  /** An Okta `search` expression for /api/v1/users ("" = every user). */
  UserSearch: string;
  /** An Okta `search` expression for /api/v1/groups: only members of a matching group are in scope ("" = all groups). */
  GroupFilter: string;
}

export interface ScimSyncSource {
  /** A file holding the bearer token (at least 32 characters), readable by the broker only. */
  TokenFile: string;
}

/** Ours: a profile's own Tyk targets, each key overriding tib.conf's TykAPISettings (src/profiles/tyk-settings.ts). */
export interface ProfileTykSettings {
  DashboardConfig?: { Endpoint?: string; Port?: string; AdminSecret?: string };
  GatewayConfig?: { Endpoint?: string; Port?: string; AdminSecret?: string };
  PortalAPIConfig?: { Endpoint?: string; AdminToken?: string };
}

export interface Profile {
  ID: string;
  Name: string;
  OrgID: string;
  ActionType: ActionType;
  MatchedPolicyID: string;
  Type: string;
  /** The name of a provider module: TIB's (src/providers/registry.ts) or one the embedder registered. */
  ProviderName: string;
  CustomEmailField: string;
  CustomUserIDField: string;
  ProviderConfig: Record<string, unknown> | null;
  IdentityHandlerConfig: Record<string, unknown> | null;
  ProviderConstraints: ProviderConstraints;
  ReturnURL: string;
  DefaultUserGroupID: string;
  CustomUserGroupField: string;
  UserGroupMapping: Record<string, string> | null;
  UserGroupSeparator: string;
  SSOOnlyForRegisteredUsers: boolean;
  /**
   * Dashboard SSO's organisation from a claim or LDAP attribute (TIB pull request #496, unmerged; src/identity/org.ts).
   * Absent unless the profile sets them, so a profile without them is written as TIB writes it.
   */
  CustomUserOrgField?: string;
  OrgMapping?: Record<string, string>;
  DefaultOrgID?: string;
  /** Portal SSO's membership rules (GenerateOrLoginDeveloperProfile); absent means TIB's behaviour. */
  Membership?: Membership;
  /** This profile's Dashboard, Gateway and portal targets over tib.conf's. */
  TykAPISettings?: ProfileTykSettings;
  /** Directory sync into the portal ("idp" membership only). */
  Sync?: SyncSettings;
  /** Logout (docs/logout.md): the Tyk side's own logout page, requested at the end of a logout. */
  TykLogoutURL?: string;
  /** Logout: where `return_to` may send the browser (exact URLs); empty: the origin root of ReturnURL. */
  LogoutRedirectURLs?: string[];
  /** Logout: accept OIDC back-channel logout at `POST /auth/{id}/backchannel-logout` (openid-connect only). */
  BackChannelLogout?: boolean;
}

/** TIB's serialisation order (Go struct order). */
export const PROFILE_FIELDS: readonly (keyof Profile)[] = [
  'ID',
  'Name',
  'OrgID',
  'ActionType',
  'MatchedPolicyID',
  'Type',
  'ProviderName',
  'CustomEmailField',
  'CustomUserIDField',
  'ProviderConfig',
  'IdentityHandlerConfig',
  'ProviderConstraints',
  'ReturnURL',
  'DefaultUserGroupID',
  'CustomUserGroupField',
  'UserGroupMapping',
  'UserGroupSeparator',
  'SSOOnlyForRegisteredUsers',
];

/** Keys beyond TIB's, written after them and only when a profile sets them (so a profile without them stays TIB's). */
export const EXTRA_PROFILE_FIELDS: readonly (keyof Profile)[] = ['CustomUserOrgField', 'OrgMapping', 'DefaultOrgID', 'Membership', 'TykAPISettings', 'Sync', 'TykLogoutURL', 'LogoutRedirectURLs', 'BackChannelLogout'];

/** A profile as stored and served: TIB's fields in TIB's order, then the extra ones it sets. */
export function orderedProfile(p: Profile): Record<string, unknown> {
  return Object.fromEntries([...PROFILE_FIELDS, ...EXTRA_PROFILE_FIELDS.filter((k) => p[k] !== undefined)].map((k) => [k, p[k]]));
}
