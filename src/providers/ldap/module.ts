/** ADProvider as the broker knows it: LDAP / Active Directory password logins (docs/providers/ldap.md). */
import type { ProviderModule } from '../module.js';
import { readLdapConfig, type LdapConfig } from './ldap-config.js';
import { claimsEntryIdentity } from './ldap-identity.js';

export const ldapModule: ProviderModule<LdapConfig> = {
  name: 'ADProvider',
  readConfig: readLdapConfig,
  // ldapts and the pool: imported when the first LDAP profile is built (registry.ts prepare).
  load: async () => (await import('./ldap.js')).createLdapProvider,
  outboundHosts: (c) => (c.LDAPServer === '' ? [] : [{ field: 'ProviderConfig.LDAPServer', host: c.LDAPServer }]),
  secrets: (c) => [c.LDAPAdminPassword],
  // Any segment logs in (TIB); its README posts to /auth/{id}/callback, ours name /ldap.
  loginSegments: () => ['ldap'],
  identityFromClaims: ({ profile, config }, claims, username) => claimsEntryIdentity(profile, config, claims, username),
  failureClasses: { unreachable: 'directory_error', refused: 'bad_request' },
};
