/** ADProvider's ProviderConfig (docs/tib-behaviour.md §4.2), read with TIB's case-insensitive keys. */
import net from 'node:net';
import type { BruteForceSettings } from '../../config/types.js';
import type { FieldReader } from '../../profiles/fields.js';
import { readBruteForce } from '../brute-force.js';

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
  DefaultDomain: string;
  GetAuthFromBAHeader: boolean;
  SlugifyUserName: boolean;
  // Ours (not in TIB):
  /** Upgrade a plain ldap:// connection with StartTLS before any bind. */
  LDAPStartTLS: boolean;
  /** PEM CA bundle to verify the server certificate (LDAPS and StartTLS); system roots when empty. */
  LDAPCAFile: string;
  /** Milliseconds to connect (default 5000). */
  LDAPConnectTimeout: number;
  /** Milliseconds per LDAP operation (default 10000). */
  LDAPTimeout: number;
  /** Group search for directories without memberOf: base DN, filter with *USERDN* / *USERNAME*, name attribute. */
  LDAPGroupBaseDN: string;
  LDAPGroupFilter: string;
  LDAPGroupNameAttribute: string;
  /** Service-account connections kept open (default 10). */
  LDAPPoolSize: number;
  /** Origins besides the broker's own whose form POSTs are accepted; every other is refused (login CSRF, password-login.ts). */
  LDAPAllowedOrigins: string[];
  /** Overrides of tib.conf's BruteForce for this profile (only the keys given). */
  BruteForce: Partial<BruteForceSettings>;
}


/** `ProviderConfig.BruteForce`: any of tib.conf's BruteForce keys, each checked like there. */
/**
 * A host the LDAP URL ldap://<host>:<port> reads back unchanged. A '#', '?', '/', '@' or ':' would end the host
 * part early, so the broker would connect elsewhere than the name AllowedIdPHosts checked.
 */
function isPlainHost(server: string): boolean {
  const bare = server.startsWith('[') && server.endsWith(']') ? server.slice(1, -1) : server;
  return net.isIP(bare) !== 0 || /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(server);
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
    DefaultDomain: r.string('DefaultDomain'),
    GetAuthFromBAHeader: r.bool('GetAuthFromBAHeader'),
    SlugifyUserName: r.bool('SlugifyUserName'),
    LDAPStartTLS: r.bool('LDAPStartTLS'),
    LDAPCAFile: r.string('LDAPCAFile'),
    LDAPConnectTimeout: r.int('LDAPConnectTimeout', 5000),
    LDAPTimeout: r.int('LDAPTimeout', 10000),
    LDAPGroupBaseDN: r.string('LDAPGroupBaseDN'),
    LDAPGroupFilter: r.string('LDAPGroupFilter'),
    LDAPGroupNameAttribute: r.string('LDAPGroupNameAttribute', 'cn') || 'cn',
    LDAPPoolSize: r.int('LDAPPoolSize', 10),
    LDAPAllowedOrigins: r.stringList('LDAPAllowedOrigins'),
    BruteForce: readBruteForce(r),
  };
  if (c.LDAPUseSSL && c.LDAPStartTLS) r.error('LDAPStartTLS', 'cannot be combined with LDAPUseSSL (LDAPS is already encrypted)');
  if (c.LDAPConnectTimeout < 1) r.error('LDAPConnectTimeout', 'must be a positive number of milliseconds');
  if (c.LDAPTimeout < 1) r.error('LDAPTimeout', 'must be a positive number of milliseconds');
  if (c.LDAPPoolSize < 1 || c.LDAPPoolSize > 1000) r.error('LDAPPoolSize', 'must be between 1 and 1000');
  if ((c.LDAPGroupBaseDN === '') !== (c.LDAPGroupFilter === '')) r.error(c.LDAPGroupBaseDN ? 'LDAPGroupFilter' : 'LDAPGroupBaseDN', 'the group search needs both LDAPGroupBaseDN and LDAPGroupFilter');
  for (const o of c.LDAPAllowedOrigins) if (!/^https?:\/\/[^/]+$/.test(o)) r.error('LDAPAllowedOrigins', `${JSON.stringify(o)} is not an origin like https://portal.example.com`);
  if (c.LDAPServer === '') r.error('LDAPServer', 'is required');
  else if (!isPlainHost(c.LDAPServer)) r.error('LDAPServer', 'must be a host name or an IP address (no scheme, port or path; the port is LDAPPort)');
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
  // Without the placeholder every login finds the same entries: nobody, several people, or one person for all.
  if (c.LDAPFilter !== '' && !c.LDAPFilter.includes('*USERNAME*')) {
    r.error('LDAPFilter', `must contain *USERNAME* (where the login name goes), e.g. "(&(objectClass=person)(uid=*USERNAME*))"; got ${JSON.stringify(c.LDAPFilter.slice(0, 200))}`);
  }
  return c;
}
