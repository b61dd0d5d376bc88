/**
 * ProviderConstraints. Domain is compared with the part after the `@` (TIB's bare suffix test lets
 * `x@evil-example.com` through `example.com`); a Domain written `.example.com` also admits subdomains.
 * Group, which TIB ignores, is enforced: the user must be in that IdP group (from CustomUserGroupField).
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

/** One IdP group (an LDAP DN is one group, commas and all), compared case-insensitively as DNs are. */
export function checkGroup(group: string, userGroups: string[] | undefined): Result<void> {
  const wanted = group.trim().toLowerCase();
  if (wanted === '') return ok(undefined);
  const member = (userGroups ?? []).some((g) => g.trim().toLowerCase() === wanted);
  return member ? ok(undefined) : fail(`user is not in the required group ${group}`);
}

export function checkConstraints(c: ProviderConstraints, email: string, userGroups: string[] | undefined): Result<void> {
  const d = checkDomain(c.Domain, email);
  return d.ok ? checkGroup(c.Group, userGroups) : d;
}
