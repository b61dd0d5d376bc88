/** What a provider hands to the rest of the broker: who the user is, independent of how they logged in. */
export interface Identity {
  /** The provider's user id (LDAP username or slug, OIDC `sub`, ...). */
  userId: string;
  /** The provider's email ("" when it has none); Custom*Field overrides are applied later. */
  email: string;
  /** Where `email` came from when the provider made it up (the LDAP provider's fallback); explain shows it. */
  emailRule?: string;
  displayName: string;
  firstName: string;
  lastName: string;
  /** Raw claims or attributes; group claims keep their array form. */
  raw: Record<string, unknown>;
  /** TIB's provider string: the ProviderName, or the social provider's name (docs/tib-behaviour.md §4). */
  provider: string;
  /** The IdP access token, when there is one (copied into Tyk key meta_data by the token actions). */
  accessToken?: string;
  /** OAuth 1.0a token secret (twitter). */
  accessTokenSecret?: string;
}
