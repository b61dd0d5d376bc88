/**
 * Profile builders shared by the suites. The directory-backed, OIDC and SAML builders live beside their
 * servers (ldapProfile in slapd.ts, oidcProfile in oidc-op.ts, samlProfile in saml-idp.ts); these build
 * profiles for a directory that is never dialled, for tests of the stores, the admin API and the tooling.
 */

/** A profile as a test writes it to profiles.json or posts it to the admin API. */
export interface TestProfile {
  ID: string;
  ProviderConfig: Record<string, unknown>;
  [key: string]: unknown;
}

/** The ProviderConfig of an ADProvider profile whose directory (ldap.example.com) no test dials. */
export const UNDIALLED_LDAP = { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' };

/** The least an ADProvider profile needs to load: ID, the Dashboard action, UNDIALLED_LDAP; `over` replaces top-level keys. */
export function bareLdapProfile(id: string, over: Record<string, unknown> = {}): TestProfile {
  return { ID: id, ActionType: 'GenerateOrLoginUserProfile', ProviderName: 'ADProvider', ProviderConfig: { ...UNDIALLED_LDAP }, ...over };
}

/**
 * A Dashboard-SSO ADProvider profile as the admin API and the stores receive it: bareLdapProfile with a
 * ReturnURL and a DashboardCredential; `providerConfig` is merged over UNDIALLED_LDAP, `over` replaces
 * top-level keys.
 */
export function offlineLdapProfile(id: string, over: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}): TestProfile {
  return bareLdapProfile(id, {
    ReturnURL: 'http://dash.example.com/tap',
    IdentityHandlerConfig: { DashboardCredential: 'dash-credential-value' },
    ProviderConfig: { ...UNDIALLED_LDAP, ...providerConfig },
    ...over,
  });
}
