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
  /** What the IdP's logout needs of this login (docs/logout.md); set by providers that support logout. */
  session?: IdpSession;
}

/**
 * A login at the IdP as its logout needs it (issue 21): OIDC's id token, `sub` and `sid`; SAML's NameID and
 * SessionIndex. The broker keeps it (src/state/login-sessions.ts) only for profiles with logout on.
 */
export interface IdpSession {
  /** The `{provider}` URL segment of the login, as the provider names it (OIDC: its UseProviders name; SAML: saml). */
  segment: string;
  /** OIDC: the raw id token (the `id_token_hint` of RP-initiated logout). */
  idToken?: string;
  /** OIDC: the id token's `sub`. */
  sub?: string;
  /** OIDC: the id token's `sid`, when the IdP sends one. */
  sid?: string;
  /** SAML: the assertion's NameID. */
  nameId?: { value: string; format?: string; nameQualifier?: string; spNameQualifier?: string };
  /** SAML: the AuthnStatement's SessionIndex. */
  sessionIndex?: string;
  /** When the IdP's session ends, ms since the epoch (OIDC: the id token's exp; SAML: SessionNotOnOrAfter). */
  expiresAt?: number;
}
