/**
 * ProviderConstraints. Domain is compared with the part after the `@` (TIB's bare suffix test lets
 * `x@evil-example.com` through `example.com`); a Domain written `.example.com` also admits subdomains.
 * Group, which TIB ignores, is enforced: the user must be in one of the listed IdP groups.
 */
import type { ProviderConstraints } from '../profiles/profile.js';
import { fail, ok, type Result } from './result.js';

export function checkDomain(domain: string, email: string): Result<void> {
  if (!domain) return ok(undefined);
  const parts = email.split('@');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return fail(`email is not a single address, so it cannot match domain ${domain}`);
  const host = parts[1].toLowerCase();
  const want = domain.toLowerCase();
  const matches = want.startsWith('.') ? host === want.slice(1) || host.endsWith(want) : host === want;
  return matches ? ok(undefined) : fail(`email domain ${host} is not ${want.startsWith('.') ? `${want.slice(1)} or a subdomain` : want}`);
}

/** `group` may list several, comma-separated: any one is enough. Compared case-insensitively (LDAP DNs). */
export function checkGroup(group: string, userGroups: string[] | undefined): Result<void> {
  const wanted = group
    .split(',')
    .map((g) => g.trim().toLowerCase())
    .filter(Boolean);
  if (wanted.length === 0) return ok(undefined);
  const have = new Set((userGroups ?? []).map((g) => g.trim().toLowerCase()));
  return wanted.some((g) => have.has(g)) ? ok(undefined) : fail(`user is not in the required group(s) ${group}`);
}

export function checkConstraints(c: ProviderConstraints, email: string, userGroups: string[] | undefined): Result<void> {
  const d = checkDomain(c.Domain, email);
  return d.ok ? checkGroup(c.Group, userGroups) : d;
}
