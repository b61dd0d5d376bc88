/**
 * The parts of a portal profile's "idp" membership (docs/portal-membership.md) that need nothing from the
 * portal: the role, and which mapped teams count. The portal's own IDs and organisations are resolved later,
 * through its admin API (src/portal/membership.ts). Pure.
 */
import type { Membership, PortalRole, Profile } from '../profiles/profile.js';
import type { TeamRule } from './mapping.js';

export interface RoleChoice {
  value: PortalRole;
  rule: string;
}

/** The first RoleMapping entry (in the profile's order) whose group the person has, else DefaultRole. */
export function chooseRole(m: Pick<Membership, 'RoleMapping' | 'DefaultRole'>, groups: readonly string[] | undefined): RoleChoice {
  const have = new Set(groups ?? []);
  for (const [group, role] of Object.entries(m.RoleMapping)) if (have.has(group)) return { value: role, rule: `RoleMapping: IdP group ${JSON.stringify(group)}` };
  return { value: m.DefaultRole, rule: 'DefaultRole (no IdP group is in RoleMapping)' };
}

/** What an "idp" login would set before the portal is asked: the team references that count and the role. */
export interface MembershipStep {
  authority: 'idp';
  teams: string[];
  role: RoleChoice;
  rule: string;
}

/** The profile's "idp" membership, when it has one. */
export function idpMembership(profile: Pick<Profile, 'ActionType' | 'Membership'>): Membership | undefined {
  return profile.ActionType === 'GenerateOrLoginDeveloperProfile' && profile.Membership?.Authority === 'idp' ? profile.Membership : undefined;
}

export function membershipStep(m: Membership, teams: readonly TeamRule[], groups: readonly string[] | undefined): { ok: true; value: MembershipStep } | { ok: false; reason: string } {
  if (teams.length === 0) {
    return { ok: false, reason: 'no IdP group maps to a portal team and the profile has no DefaultUserGroupID: in "idp" membership an account without a team would have no organisation' };
  }
  const counted = m.Teams === 'first' ? teams.slice(0, 1) : teams;
  const rule = m.Teams === 'first' ? 'Membership.Teams "first": the first mapped team (TIB\'s rule)' : 'Membership.Teams "all": every mapped team of one organisation';
  return { ok: true, value: { authority: 'idp', teams: counted.map((t) => t.team), role: chooseRole(m, groups), rule } };
}
