/**
 * Who logged in, in the directory's own spelling. Directories match usernames case-insensitively and ignore
 * surrounding spaces (RFC 4518), and many fold Unicode forms, so " ALICE ", "alice" and a decomposed "Zoë"
 * all find one entry. TIB builds the user id (the portal's SSO key) from the typed text, which makes each
 * spelling a separate developer; here it comes from the entry: the value of the attribute the filter
 * compared with *USERNAME*, else the value of the entry's RDN.
 */
import type { Entry } from 'ldapts';
import type { Identity } from '../../identity/identity.js';
import { typeName } from '../../identity/result.js';
import type { Profile } from '../../profiles/profile.js';
import { ClaimsError } from '../module.js';
import type { LdapConfig } from './ldap-config.js';
import { slugify, USERNAME } from './ldap-escape.js';

/** The typed username as it is put into filters and DNs: no surrounding spaces, composed Unicode (NFC). */
export function normalizeUsername(typed: string): string {
  return typed.trim().normalize('NFC');
}

/** Attribute names that the filter compares with the username for equality: `(uid=*USERNAME*)` gives `uid`. */
export function usernameAttributes(filter: string): string[] {
  const placeholder = USERNAME.replace(/\*/g, '\\*');
  const re = new RegExp(`\\(\\s*([A-Za-z][A-Za-z0-9-]*|\\d+(?:\\.\\d+)+)(?:;[A-Za-z0-9-]+)*\\s*=${placeholder}\\)`, 'g');
  return [...new Set([...filter.matchAll(re)].map((m) => m[1] as string))];
}

/** The value of the first attribute of a DN's first RDN, unescaped (RFC 4514): `uid=a\,b+cn=x,dc=org` gives `a,b`. */
export function firstRdnValue(dn: string): string {
  const eq = dn.indexOf('=');
  if (eq < 0) return '';
  const bytes: number[] = [];
  for (let i = eq + 1; i < dn.length; i++) {
    const c = dn[i] as string;
    if (c === ',' || c === '+' || c === ';') break;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c));
      continue;
    }
    const hex = dn.slice(i + 1, i + 3);
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (i + 1 < dn.length) {
      bytes.push(...Buffer.from(dn[i + 1] as string));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Case- and form-insensitive, as directories compare names. */
const fold = (s: string) => s.trim().normalize('NFKC').toLowerCase();

function valuesOf(entry: Entry, attr: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (!key || key === 'dn') return [];
  const v = entry[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => x.toString());
}

/**
 * The username as the directory spells it, from the first attribute the filter compares that the entry has:
 * its value equal to what was typed (ignoring case, spaces and Unicode form), else its only value; else the
 * entry's RDN value; trimmed and NFC. One attribute, so a filter accepting two names for one person (AD's
 * sAMAccountName or userPrincipalName, uid or mail) gives one user id whichever was typed. When the typed
 * username already equals the directory's value, this is TIB's user id.
 */
export function directoryUsername(entry: Entry, attrs: string[], typed: string): string {
  const wanted = fold(typed);
  const attr = attrs.find((a) => valuesOf(entry, a).some((v) => normalizeUsername(v) !== ''));
  const values = attr === undefined ? [] : [...new Set(valuesOf(entry, attr).map(normalizeUsername))].filter(Boolean);
  const chosen = values.find((v) => fold(v) === wanted) ?? (values.length === 1 ? values[0] : undefined) ?? normalizeUsername(firstRdnValue(entry.dn));
  return chosen || normalizeUsername(typed);
}

/**
 * The email ADProvider gives a user: the LDAPEmailAttribute value, else the username when it is an address,
 * else TIB's made-up `<username>@<OrgID>-ADProvider.com`; with the rule, so explain can say which.
 */
export function directoryEmail(attributeValue: string, username: string, orgId: string): { email: string; rule?: string } {
  if (attributeValue) return { email: attributeValue };
  if (username.includes('@')) return { email: username, rule: 'the username (no LDAPEmailAttribute value)' };
  return { email: `${username}@${orgId}-ADProvider.com`, rule: "ADProvider's made-up address <username>@<OrgID>-ADProvider.com, as TIB (no LDAPEmailAttribute value)" };
}

/** A directory entry with its values as text (as ldapts gives them, or as explain's JSON gives them). */
export type TextEntry = { dn: string } & Record<string, string | string[]>;

/**
 * The identity of a user's entry, as every ADProvider login builds it and as explain shows it (one function,
 * so they cannot drift). `username` is the directory's spelling (directoryUsername); `groups`, when
 * LDAPGroupBaseDN is set, the names a group search found.
 */
export function entryIdentity(
  profile: Pick<Profile, 'OrgID' | 'CustomUserGroupField'>,
  cfg: Pick<LdapConfig, 'LDAPEmailAttribute' | 'LDAPFirstNameAttribute' | 'LDAPLastNameAttribute' | 'SlugifyUserName'>,
  entry: TextEntry,
  username: string,
  groups?: string[],
): Identity {
  const groupAttr = profile.CustomUserGroupField || 'memberOf';
  const raw: Record<string, unknown> = {};
  for (const [attr, v] of Object.entries(entry)) {
    if (attr === 'dn') continue;
    const list = Array.isArray(v) ? v : [v];
    const multi = attr.toLowerCase() === groupAttr.toLowerCase() || attr.toLowerCase() === 'memberof';
    raw[attr] = multi ? list : (list[0] ?? '');
  }
  if (groups) raw[groupAttr] = groups;
  const firstOf = (name: string) => {
    const v = valuesOf(entry, name);
    return v[0] ?? '';
  };
  const { email, rule: emailRule } = directoryEmail(firstOf(cfg.LDAPEmailAttribute), username, profile.OrgID);
  const firstName = firstOf(cfg.LDAPFirstNameAttribute);
  const lastName = firstOf(cfg.LDAPLastNameAttribute);
  return {
    userId: cfg.SlugifyUserName ? slugify(username) : username,
    email,
    ...(emailRule ? { emailRule } : {}),
    displayName: [firstName, lastName].filter(Boolean).join(' '),
    firstName,
    lastName,
    raw,
    provider: 'ADProvider',
  };
}

/**
 * Explain's dry run: an entry given as JSON (`dn` plus attributes, each a string or a list of strings) and
 * what the user would type, through the login's own entryIdentity.
 */
export function claimsEntryIdentity(profile: Profile, cfg: LdapConfig, attrs: Record<string, unknown>, typed: string): Identity {
  for (const [k, v] of Object.entries(attrs)) {
    const okValue = typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!okValue) throw new ClaimsError(`LDAP attribute ${JSON.stringify(k)} is ${typeName(v)}, expected a string or a list of strings`);
  }
  const entry = { ...(attrs as Record<string, string | string[]>), dn: typeof attrs.dn === 'string' ? attrs.dn : '' };
  const named = usernameAttributes(cfg.LDAPFilter);
  const username = directoryUsername(entry, named, normalizeUsername(typed));
  // A real login always has one (what the user typed); a dry run without it would explain an empty user id.
  if (username === '') {
    throw new ClaimsError(`no username: give the entry's ${named.length > 0 ? named.join(' or ') : 'dn'} attribute (what LDAPFilter compares with *USERNAME*), or the username the user would type`);
  }
  return entryIdentity(profile, cfg, entry, username);
}
