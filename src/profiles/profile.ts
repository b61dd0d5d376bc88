/**
 * A TIB profile: one login flow. Field names, types and order are TIB's (docs/tib-behaviour.md §3.1); the JSON file is an
 * array of these. `ProviderConfig` keys are matched case-insensitively when a provider reads them;
 * `IdentityHandlerConfig` keys are exact-case.
 */
export const PROVIDER_NAMES = ['SocialProvider', 'ADProvider', 'ProxyProvider', 'SAMLProvider'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** One of TIB's providers; any other name in a profile is a provider the embedder registered (BrokerOptions.providers). */
export function isTibProvider(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}

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

export interface Profile {
  ID: string;
  Name: string;
  OrgID: string;
  ActionType: ActionType;
  MatchedPolicyID: string;
  Type: string;
  /** A ProviderName, or the name of a provider the embedder registered (see isTibProvider). */
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
