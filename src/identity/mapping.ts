/**
 * IdP groups -> Tyk user groups / portal teams: TIB's algorithm (spec 5.9), minus its crashes and
 * duplicates. Pure: no I/O, no clock.
 */
import type { Profile } from '../profiles/profile.js';
import { fail, ok, typeName, type Result } from './result.js';

type MappingSettings = Pick<Profile, 'CustomUserGroupField' | 'UserGroupSeparator' | 'UserGroupMapping' | 'DefaultUserGroupID'>;

/**
 * The IdP groups named by CustomUserGroupField: arrays are kept as arrays, a string is split on
 * UserGroupSeparator (a space when empty), with no trimming, as TIB. Undefined when there is no field or
 * no claim.
 */
export function extractGroups(profile: Pick<Profile, 'CustomUserGroupField' | 'UserGroupSeparator'>, raw: Record<string, unknown>): Result<string[] | undefined> {
  const field = profile.CustomUserGroupField;
  if (!field) return ok(undefined);
  const v = raw[field];
  if (v === undefined || v === null) return ok(undefined);
  if (Array.isArray(v)) {
    const bad = v.find((x) => typeof x !== 'string');
    if (bad !== undefined) return fail(`CustomUserGroupField "${field}" holds ${typeName(bad)}, expected strings`);
    return ok(v as string[]);
  }
  if (typeof v !== 'string') return fail(`CustomUserGroupField "${field}" is ${typeName(v)}, expected a string or an array of strings`);
  return ok(v.split(profile.UserGroupSeparator || ' '));
}

/**
 * Every mapped group, in IdP order, without duplicates. DefaultUserGroupID only when nothing maps (as
 * TIB: one match is enough to leave the default out).
 */
export function mapGroups(profile: Pick<MappingSettings, 'UserGroupMapping' | 'DefaultUserGroupID'>, groups: string[] | undefined): string[] {
  const fallback = profile.DefaultUserGroupID ? [profile.DefaultUserGroupID] : [];
  if (!groups || groups.length === 0) return fallback;
  const mapping = profile.UserGroupMapping ?? {};
  const teams: string[] = [];
  for (const g of groups) {
    const team = Object.hasOwn(mapping, g) ? mapping[g] : undefined;
    if (team !== undefined && !teams.includes(team)) teams.push(team);
  }
  return teams.length > 0 ? teams : fallback;
}

/** extractGroups then mapGroups. */
export function groupsToTeams(profile: MappingSettings, raw: Record<string, unknown>): Result<string[]> {
  const groups = extractGroups(profile, raw);
  return groups.ok ? ok(mapGroups(profile, groups.value)) : groups;
}
