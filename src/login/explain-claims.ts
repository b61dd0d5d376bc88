/**
 * A dry run's identity: what a profile's provider would build from a set of claims or LDAP attributes given
 * as JSON (`identity-broker explain`, `POST /api/profiles/{id}/explain`), to be explained by
 * explainIdentity. The providers build the real one from the IdP's answer; this follows the same rules.
 */
import type { Identity } from '../identity/identity.js';
import { typeName } from '../identity/result.js';
import type { Profile } from '../profiles/profile.js';
import { parseProviderConfig } from '../providers/config.js';
import { directoryEmail, directoryUsername, usernameAttributes } from '../providers/ldap/ldap-identity.js';

export class ClaimsError extends Error {}

const str = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '');

/** An attribute's values, case-insensitively as directories name attributes. */
function attr(entry: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : entry[key];
}

/** LDAP attributes (an entry as JSON: `dn` plus attributes, each a string or a list of strings) as ADProvider reads them. */
function ldapIdentity(profile: Profile, attrs: Record<string, unknown>, typed: string): Identity {
  for (const [k, v] of Object.entries(attrs)) {
    const okValue = typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!okValue) throw new ClaimsError(`LDAP attribute ${JSON.stringify(k)} is ${typeName(v)}, expected a string or a list of strings`);
  }
  const { config: cfg } = parseProviderConfig('ADProvider', profile.ProviderConfig);
  const entry = { ...(attrs as Record<string, string | string[]>), dn: typeof attrs.dn === 'string' ? attrs.dn : '' };
  const groupAttr = (profile.CustomUserGroupField || 'memberOf').toLowerCase();
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'dn') continue;
    const list = Array.isArray(v) ? v : [v];
    raw[k] = k.toLowerCase() === groupAttr || k.toLowerCase() === 'memberof' ? list : (list[0] ?? '');
  }
  const named = usernameAttributes(cfg.LDAPFilter);
  const username = directoryUsername(entry, named, typed);
  // A real login always has one (what the user typed); a dry run without it would explain an empty user id.
  if (username === '') {
    throw new ClaimsError(`no username: give the entry's ${named.length > 0 ? named.join(' or ') : 'dn'} attribute (what LDAPFilter compares with *USERNAME*), or the username the user would type`);
  }
  const firstName = str(attr(entry, cfg.LDAPFirstNameAttribute));
  const lastName = str(attr(entry, cfg.LDAPLastNameAttribute));
  const { email, rule: emailRule } = directoryEmail(str(attr(entry, cfg.LDAPEmailAttribute)), username, profile.OrgID);
  return { userId: username, email, ...(emailRule ? { emailRule } : {}), displayName: [firstName, lastName].filter(Boolean).join(' '), firstName, lastName, raw, provider: 'ADProvider' };
}

/**
 * The identity a provider would build from these claims or LDAP attributes: ADProvider reads them as a
 * directory entry (LDAPEmailAttribute, the attribute LDAPFilter compares with *USERNAME*, memberOf); every
 * other provider as OpenID Connect claims (sub, email, given_name, family_name). `username` is what the user
 * would type at an LDAP login (optional: the entry's own value is used).
 */
export function identityFromClaims(profile: Profile, claims: unknown, username = ''): Identity {
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new ClaimsError(`the claims must be a JSON object, got ${typeName(claims)}`);
  }
  const c = claims as Record<string, unknown>;
  if (profile.ProviderName === 'ADProvider') return ldapIdentity(profile, c, username);
  const provider = profile.ProviderName === 'SocialProvider' ? 'openid-connect' : profile.ProviderName;
  return { userId: str(c.sub), email: str(c.email), displayName: str(c.name), firstName: str(c.given_name), lastName: str(c.family_name), raw: c, provider };
}
