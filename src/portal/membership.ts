/**
 * What the portal account of a person should be under a profile's `Membership` (docs/portal-membership.md), and how
 * an account differs from it. Pure: the login's reconcile (src/portal/reconcile.ts) and any later sync use these
 * same functions, so they cannot disagree about a person.
 */
import type { TeamRule } from '../identity/mapping.js';
import { chooseRole, type RoleChoice } from '../identity/membership.js';
import type { Membership } from '../profiles/profile.js';
import type { Resolution, PortalTeam } from './directory.js';

export interface DroppedTeam {
  ref: string;
  why: string;
}

export interface DesiredMembership {
  teams: PortalTeam[];
  organisationId: number;
  organisationName: string;
  role: RoleChoice;
  /** Mapped teams left out: beyond the first with Teams "first", or of another organisation. */
  dropped: DroppedTeam[];
}

/**
 * The membership from the mapped team rules (in the pipeline's order) and their resolutions (same order).
 * With Teams "first" only the first counts (TIB's rule). Teams of several organisations: the organisation of
 * the team whose UserGroupMapping entry comes first in the profile wins (DefaultUserGroupID last); the other
 * organisations' teams are dropped and named. No team at all is a refusal: an account without a team has no
 * organisation. An unresolvable reference is a refusal too (the portal cannot be told a team it does not have).
 */
export function desiredMembership(
  m: Membership,
  rules: readonly TeamRule[],
  resolved: readonly Resolution[],
  mappingOrder: readonly string[],
  groups: readonly string[] | undefined,
): { ok: true; value: DesiredMembership } | { ok: false; reason: string } {
  if (rules.length === 0) return { ok: false, reason: 'no IdP group maps to a portal team and the profile has no DefaultUserGroupID: an account without a team has no organisation' };
  // With Teams "first" only the first must resolve: the others are dropped, as TIB never looks past it.
  const counted = m.Teams === 'first' ? 1 : rules.length;
  const bad = resolved.slice(0, counted).findIndex((r) => 'problem' in r);
  if (bad >= 0) {
    const r = resolved[bad] as { problem: string };
    return { ok: false, reason: `team ${JSON.stringify(rules[bad]?.team)} (${rules[bad]?.rule}): ${r.problem}` };
  }
  const chosen = rules.slice(0, counted).map((rule, i) => ({ rule, team: (resolved[i] as { team: PortalTeam }).team }));
  const dropped: DroppedTeam[] = rules.slice(counted).map((rule) => ({ ref: rule.team, why: 'Membership.Teams is "first"' }));
  // The earliest UserGroupMapping entry among the chosen teams' groups decides the organisation.
  const position = (p: (typeof chosen)[number]) => {
    const at = p.rule.groups.map((g) => mappingOrder.indexOf(g)).filter((i) => i >= 0);
    return at.length ? Math.min(...at) : Number.MAX_SAFE_INTEGER;
  };
  const lead = [...chosen].sort((a, b) => position(a) - position(b))[0];
  if (!lead) return { ok: false, reason: 'no team' };
  const org = lead.team.organisationId;
  const teams: PortalTeam[] = [];
  for (const p of chosen) {
    if (p.team.organisationId !== org) dropped.push({ ref: p.rule.team, why: `in organisation ${JSON.stringify(p.team.organisationName)}, not ${JSON.stringify(lead.team.organisationName)} (chosen by UserGroupMapping order)` });
    else if (!teams.some((t) => t.id === p.team.id)) teams.push(p.team);
  }
  return { ok: true, value: { teams, organisationId: org, organisationName: lead.team.organisationName, role: chooseRole(m, groups), dropped } };
}

/** The fields of an account the broker manages. */
export interface AccountState {
  Email: string;
  First: string;
  Last: string;
  Active: boolean;
  OrganisationID: number;
  Role: string;
  Teams: number[];
}

export interface FieldChange {
  field: keyof AccountState;
  before: unknown;
  after: unknown;
}

/** The account as it should be: the desired membership, the person's email, and their names when the IdP gives them. */
export function desiredAccount(current: AccountState | undefined, d: DesiredMembership, person: { email: string; first: string; last: string }): AccountState {
  return {
    Email: person.email,
    // An IdP without names leaves the portal's as they are.
    First: person.first || current?.First || '',
    Last: person.last || current?.Last || '',
    Active: true,
    OrganisationID: d.organisationId,
    Role: d.role.value,
    Teams: d.teams.map((t) => t.id),
  };
}

/** Field by field, what differs (teams as sets; the email case-insensitively, as the portal matches it). */
export function accountChanges(current: AccountState, desired: AccountState): FieldChange[] {
  const out: FieldChange[] = [];
  const same = (k: keyof AccountState) => {
    const a = current[k];
    const b = desired[k];
    if (k === 'Teams') return [...(a as number[])].sort((x, y) => x - y).join() === [...(b as number[])].sort((x, y) => x - y).join();
    if (k === 'Email') return String(a).toLowerCase() === String(b).toLowerCase();
    return a === b;
  };
  for (const k of ['Email', 'First', 'Last', 'Active', 'OrganisationID', 'Role', 'Teams'] as const) if (!same(k)) out.push({ field: k, before: current[k], after: desired[k] });
  return out;
}
