/** ADProvider's ProviderConfig (spec 4.2), read with TIB's case-insensitive keys. */
import type { FieldReader } from '../profiles/fields.js';

export interface LdapConfig {
  LDAPUseSSL: boolean;
  LDAPServer: string;
  /** A string, as in TIB. */
  LDAPPort: string;
  LDAPUserDN: string;
  LDAPBaseDN: string;
  LDAPFilter: string;
  LDAPEmailAttribute: string;
  LDAPFirstNameAttribute: string;
  LDAPLastNameAttribute: string;
  LDAPAdminUser: string;
  LDAPAdminPassword: string;
  LDAPAttributes: string[];
  /** 0 base, 1 one level, 2 subtree. */
  LDAPSearchScope: number;
  FailureRedirect: string;
  DefaultDomain: string;
  GetAuthFromBAHeader: boolean;
  SlugifyUserName: boolean;
}

export function readLdapConfig(r: FieldReader): LdapConfig {
  const c: LdapConfig = {
    LDAPUseSSL: r.bool('LDAPUseSSL'),
    LDAPServer: r.string('LDAPServer'),
    LDAPPort: r.string('LDAPPort'),
    LDAPUserDN: r.string('LDAPUserDN'),
    LDAPBaseDN: r.string('LDAPBaseDN'),
    LDAPFilter: r.string('LDAPFilter'),
    LDAPEmailAttribute: r.string('LDAPEmailAttribute', 'mail') || 'mail',
    LDAPFirstNameAttribute: r.string('LDAPFirstNameAttribute', 'givenName') || 'givenName',
    LDAPLastNameAttribute: r.string('LDAPLastNameAttribute', 'sn') || 'sn',
    LDAPAdminUser: r.string('LDAPAdminUser'),
    LDAPAdminPassword: r.string('LDAPAdminPassword'),
    LDAPAttributes: r.stringList('LDAPAttributes'),
    LDAPSearchScope: r.int('LDAPSearchScope'),
    FailureRedirect: r.url('FailureRedirect'),
    DefaultDomain: r.string('DefaultDomain'),
    GetAuthFromBAHeader: r.bool('GetAuthFromBAHeader'),
    SlugifyUserName: r.bool('SlugifyUserName'),
  };
  if (c.LDAPServer === '') r.error('LDAPServer', 'is required');
  if (!/^\d+$/.test(c.LDAPPort) || Number(c.LDAPPort) < 1 || Number(c.LDAPPort) > 65535) {
    r.error('LDAPPort', 'must be a port number as a string, e.g. "389"');
  }
  if (![0, 1, 2].includes(c.LDAPSearchScope)) r.error('LDAPSearchScope', 'must be 0 (base), 1 (one level) or 2 (subtree)');
  if (c.LDAPUserDN === '' && c.LDAPAdminUser === '') {
    r.error('LDAPUserDN', 'is required (with *USERNAME*) unless LDAPAdminUser is set');
  }
  if (c.LDAPAdminUser !== '' && c.LDAPFilter === '') {
    r.error('LDAPFilter', 'is required with LDAPAdminUser (e.g. "(uid=*USERNAME*)")');
  }
  return c;
}
