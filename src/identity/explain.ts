/**
 * "Why did this user land in that team": the email, user id, constraint outcome and teams a profile gives an
 * identity, each with the rule that gave it. Built on the pipeline's own functions (claims, constraints,
 * mapping), and the login pipeline decides from this very explanation, so it cannot drift from real logins.
 * Pure: no I/O, no clock.
 */
import type { Profile } from '../profiles/profile.js';
import { resolveDisplayName, resolveEmailRule, resolveUserIdRule, type Derived } from './claims.js';
import { checkDomain, checkGroup } from './constraints.js';
import type { Identity } from './identity.js';
import { extractGroupsRule, mapGroupsRule, type TeamRule } from './mapping.js';
import { idpMembership, membershipStep, type MembershipStep } from './membership.js';
import { resolveOrgRule } from './org.js';

export interface ConstraintCheck {
  /** The constraint as configured ("" when unset). */
  want: string;
  passed: boolean;
  rule: string;
}

interface Steps {
  profile: string;
  provider: string;
  /** The identity as the provider built it (the raw claims are left out: they may carry tokens). */
  identity: { userId: string; email: string; firstName: string; lastName: string };
  email?: Derived<string>;
  displayName?: string;
  /** The user id the portal action keys its developer on. */
  userId?: Derived<string>;
  groups?: { value: string[] | undefined; rule: string };
  constraints?: { Domain: ConstraintCheck; Group: ConstraintCheck };
  teams?: TeamRule[];
  /** The Tyk organisation a Dashboard SSO login goes to (src/identity/org.ts); Dashboard profiles only. */
  org?: Derived<string>;
  /** In "idp" membership (portal profiles): the teams that count and the role, before the portal resolves them. */
  membership?: MembershipStep;
}

/** "allowed": the action runs with these teams; "refused": the login ends in the profile's failure response. */
export type Explanation =
  | (Steps & { outcome: 'allowed'; email: Derived<string>; displayName: string; teams: TeamRule[] })
  | (Steps & { outcome: 'refused'; failure: { stage: Stage; reason: string } });

type Stage = 'email' | 'groups' | 'constraints' | 'org' | 'userId' | 'membership';

function constraint(want: string, result: { ok: boolean; reason?: string }, what: string): ConstraintCheck {
  if (result.ok && want.trim() === '') return { want, passed: true, rule: `no ${what} constraint` };
  return { want, passed: result.ok, rule: result.ok ? `${what} ${JSON.stringify(want)} matched` : (result.reason ?? '') };
}

/** The explanation of one identity under one profile, in the pipeline's order: email, groups, constraints, teams. */
export function explainIdentity(profile: Profile, identity: Identity): Explanation {
  const out: Steps = {
    profile: profile.ID,
    provider: identity.provider,
    identity: { userId: identity.userId, email: identity.email, firstName: identity.firstName, lastName: identity.lastName },
  };
  const refused = (stage: Stage, reason: string): Explanation => ({ ...out, outcome: 'refused', failure: { stage, reason } });
  const email = resolveEmailRule(profile, identity);
  if (!email.ok) return refused('email', email.reason);
  out.email = email.value;
  const displayName = resolveDisplayName(identity, email.value.value);
  out.displayName = displayName;
  const groups = extractGroupsRule(profile, identity.raw);
  if (!groups.ok) return refused('groups', groups.reason);
  out.groups = groups.value;

  const { Domain, Group } = profile.ProviderConstraints;
  const domain = checkDomain(Domain, email.value.value);
  // As checkConstraints: the group is checked only when the domain passed.
  const group = domain.ok ? checkGroup(Group, groups.value.value) : { ok: false, reason: 'not checked: the domain constraint failed' };
  out.constraints = { Domain: constraint(Domain, domain, 'domain'), Group: constraint(Group, group, 'group') };
  if (!domain.ok) return refused('constraints', `constraint failed: ${domain.reason}`);
  if (!group.ok) return refused('constraints', `constraint failed: ${group.reason}`);

  const teams = mapGroupsRule(profile, groups.value.value);
  out.teams = teams;
  // Only the Dashboard action sends an organisation chosen from the identity (docs/actions.md).
  if (profile.ActionType === 'GenerateOrLoginUserProfile') {
    const org = resolveOrgRule(profile, identity.raw);
    if (!org.ok) return refused('org', org.reason);
    out.org = org.value;
  }
  // Only the portal action reads the user id: a bad CustomUserIDField refuses its logins, and only its.
  const userId = resolveUserIdRule(profile, identity);
  if (userId.ok) out.userId = userId.value;
  else if (profile.ActionType === 'GenerateOrLoginDeveloperProfile') return refused('userId', userId.reason);
  const m = idpMembership(profile);
  if (m) {
    const step = membershipStep(m, teams, groups.value.value);
    if (!step.ok) return refused('membership', step.reason);
    out.membership = step.value;
  }
  return { ...out, outcome: 'allowed', email: email.value, displayName, teams };
}
