/** Escaping user input for LDAP: RFC 4515 in search filters, RFC 4514 in distinguished names. */

/** RFC 4515: `*`, `(`, `)`, `\` and NUL as `\2a \28 \29 \5c \00` (and any other control character). */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * RFC 4514 attribute value: `, + " \ < > ;` and `=` escaped with a backslash, a leading space or `#` and a
 * trailing space escaped, NUL and control characters as hex pairs.
 */
export function escapeDnValue(value: string): string {
  let out = value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** TIB's `*USERNAME*` placeholder, replaced with an escaped value (TIB inserts the raw username). */
export const USERNAME = '*USERNAME*';
export const USERDN = '*USERDN*';

export function fillFilter(template: string, username: string, userDn = ''): string {
  return template.split(USERNAME).join(escapeFilterValue(username)).split(USERDN).join(escapeFilterValue(userDn));
}

export function fillDn(template: string, username: string): string {
  return template.split(USERNAME).join(escapeDnValue(username));
}

/** TIB's slug (util_slug.go): lower case, diacritics stripped, runs of other characters as one `-`. */
export function slugify(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
