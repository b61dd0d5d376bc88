/** The pipeline's identity rules (src/identity/) by their values alone, as the unit tests compare them. */
import { resolveEmailRule, resolveUserIdRule } from '../../src/identity/claims.js';
import type { Identity } from '../../src/identity/identity.js';
import { extractGroupsRule, mapGroupsRule } from '../../src/identity/mapping.js';
import type { Result } from '../../src/identity/result.js';
import type { Profile } from '../../src/profiles/profile.js';

const value = <T>(r: Result<{ value: T }>): Result<T> => (r.ok ? { ok: true, value: r.value.value } : r);

export const resolveEmail = (p: Pick<Profile, 'CustomEmailField'>, i: Identity): Result<string> => value(resolveEmailRule(p, i));
export const resolveUserId = (p: Pick<Profile, 'CustomUserIDField'>, i: Identity): Result<string> => value(resolveUserIdRule(p, i));

/** The teams the pipeline maps a set of claims to: groups read, then mapped. */
export function groupsToTeams(p: Pick<Profile, 'CustomUserGroupField' | 'UserGroupSeparator' | 'UserGroupMapping' | 'DefaultUserGroupID'>, raw: Record<string, unknown>): Result<string[]> {
  const groups = extractGroupsRule(p, raw);
  return groups.ok ? { ok: true, value: mapGroupsRule(p, groups.value.value).map((t) => t.team) } : groups;
}
