/**
 * IdP groups -> Tyk user groups / portal teams: TIB's algorithm (docs/tib-behaviour.md §5.9), minus its crashes and
 * duplicates. Pure: no I/O, no clock.
 */
import type { Profile } from '../profiles/profile.js';
import { fail, ok, typeName, type Result } from './result.js';

type MappingSettings = Pick<Profile, 'CustomUserGroupField' | 'UserGroupSeparator' | 'UserGroupMapping' | 'DefaultUserGroupID'>;

/** Where a team came from: the IdP groups that UserGroupMapping maps to it, or DefaultUserGroupID. */
export interface TeamRule {
  team: string;
  /** The IdP groups (in IdP order) mapped to this team; empty for the default team. */
  groups: string[];
  rule: string;
}

/**
 * The IdP groups named by CustomUserGroupField: arrays are kept as arrays, a string is split on
 * UserGroupSeparator (a space when empty), with no trimming, as TIB. Undefined when there is no field or
 * no claim.
 */
export function extractGroupsRule(
  profile: Pick<Profile, 'CustomUserGroupField' | 'UserGroupSeparator'>,
  raw: Record<string, unknown>,
): Result<{ value: string[] | undefined; rule: string }> {
  const field = profile.CustomUserGroupField;
  if (!field) return ok({ value: undefined, rule: 'no CustomUserGroupField: no IdP groups are read' });
  const v = raw[field];
  if (v === undefined || v === null) return ok({ value: undefined, rule: `CustomUserGroupField "${field}": no such claim` });
  if (Array.isArray(v)) {
    const bad = v.find((x) => typeof x !== 'string');
    if (bad !== undefined) return fail(`CustomUserGroupField "${field}" holds ${typeName(bad)}, expected strings`);
    return ok({ value: v as string[], rule: `CustomUserGroupField "${field}": a list` });
  }
  if (typeof v !== 'string') return fail(`CustomUserGroupField "${field}" is ${typeName(v)}, expected a string or an array of strings`);
  const separator = profile.UserGroupSeparator || ' ';
  const how = profile.UserGroupSeparator ? `UserGroupSeparator ${JSON.stringify(separator)}` : 'a space (UserGroupSeparator is empty)';
  return ok({ value: v.split(separator), rule: `CustomUserGroupField "${field}": a string split on ${how}` });
}

/**
 * Every mapped group, in IdP order, without duplicates. DefaultUserGroupID only when nothing maps (as
 * TIB: one match is enough to leave the default out).
 */
export function mapGroupsRule(profile: Pick<MappingSettings, 'UserGroupMapping' | 'DefaultUserGroupID'>, groups: string[] | undefined): TeamRule[] {
  const fallback = (why: string): TeamRule[] => (profile.DefaultUserGroupID ? [{ team: profile.DefaultUserGroupID, groups: [], rule: `DefaultUserGroupID (${why})` }] : []);
  if (!groups || groups.length === 0) return fallback('no IdP groups');
  const mapping = profile.UserGroupMapping ?? {};
  const teams: TeamRule[] = [];
  for (const g of groups) {
    const team = Object.hasOwn(mapping, g) ? mapping[g] : undefined;
    if (team === undefined) continue;
    const seen = teams.find((t) => t.team === team);
    if (seen) seen.groups.push(g);
    else teams.push({ team, groups: [g], rule: '' });
  }
  for (const t of teams) t.rule = `UserGroupMapping: ${t.groups.map((g) => JSON.stringify(g)).join(', ')}`;
  return teams.length > 0 ? teams : fallback('no IdP group is in UserGroupMapping');
}
