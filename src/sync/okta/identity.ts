/**
 * An Okta user as the profile's own OpenID Connect login against the same org would see them (pure): the login
 * (src/providers/social/oidc.ts) takes `userId` from the ID token's `sub`, which at the org authorization server
 * is the Okta user id, reads the standard claims as its module's identityFromClaims does (asked through the
 * registry, src/providers/registry.ts, which knows the provider's name), and finds the groups under the profile's
 * CustomUserGroupField as Okta's groups claim sends them: group names. So a sync and a login give one person the
 * same SSO key and the same teams (src/identity/explain.ts).
 */
import type { Identity } from '../../identity/identity.js';
import type { Profile } from '../../profiles/profile.js';

/** What the sync reads of an Okta user (components/schemas/User of the Management API). */
export interface OktaUser {
  id: string;
  status: string;
  profile: { login?: string; email?: string; firstName?: string | null; lastName?: string | null; displayName?: string | null };
}

export interface OktaGroup {
  id: string;
  profile: { name?: string };
}

/**
 * Statuses in which Okta lets the person sign in (or will, once they reset or unlock, without an admin): they
 * stay in scope. STAGED and PROVISIONED (never activated), SUSPENDED and DEPROVISIONED cannot: out of scope,
 * so their managed accounts are deprovisioned (docs/directory-sync.md#source-okta).
 */
export const SIGN_IN_STATUSES: ReadonlySet<string> = new Set(['ACTIVE', 'PASSWORD_EXPIRED', 'LOCKED_OUT', 'RECOVERY']);

/** The claim the groups go under: the profile's CustomUserGroupField, else Okta's usual `groups`. */
export const groupsClaim = (profile: Pick<Profile, 'CustomUserGroupField'>): string => profile.CustomUserGroupField || 'groups';

/** The claims an OpenID Connect login at the org gets for one Okta user with the names of their groups. */
export function oktaClaims(profile: Pick<Profile, 'CustomUserGroupField'>, user: OktaUser, groups: readonly string[]): Record<string, unknown> {
  const p = user.profile;
  const first = p.firstName ?? '';
  const last = p.lastName ?? '';
  // Okta's claims: name (the full name), given_name, family_name, preferred_username (the login), email.
  const claims: Record<string, unknown> = {
    sub: user.id,
    email: p.email ?? '',
    name: [first, last].filter(Boolean).join(' ') || (p.displayName ?? ''),
    given_name: first,
    family_name: last,
    preferred_username: p.login ?? '',
    [groupsClaim(profile)]: [...groups],
  };
  return claims;
}

/** The identity of one Okta user: their claims read as the profile's login reads its ID token (`fromClaims`). */
export function oktaIdentity(profile: Pick<Profile, 'CustomUserGroupField'>, user: OktaUser, groups: readonly string[], fromClaims: (claims: Record<string, unknown>) => Identity): Identity {
  return fromClaims(oktaClaims(profile, user, groups));
}
