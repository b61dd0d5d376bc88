/**
 * How a portal profile names a team in `UserGroupMapping` values and `DefaultUserGroupID` (docs/portal-membership.md):
 * a team ID as today (`"12"`, sent as is), `cid:<team CID>` (stable across environments), or
 * `<organisation name>/<team name>` (split on the first "/"). Pure.
 */
export type TeamRef =
  | { kind: 'id'; raw: string }
  | { kind: 'cid'; raw: string; cid: string }
  | { kind: 'name'; raw: string; organisation: string; team: string };

/** A reference that only the portal's admin API can turn into a team ID. */
export function isNamedRef(raw: string): boolean {
  return raw.startsWith('cid:') || raw.includes('/');
}

/** The reference a value is, or why it is none (an empty CID, organisation or team name). */
export function parseTeamRef(raw: string): TeamRef | { problem: string } {
  if (raw.startsWith('cid:')) {
    const cid = raw.slice(4);
    return cid.trim() === '' ? { problem: 'names no CID after "cid:"' } : { kind: 'cid', raw, cid };
  }
  const slash = raw.indexOf('/');
  if (slash < 0) return { kind: 'id', raw };
  const organisation = raw.slice(0, slash);
  const team = raw.slice(slash + 1);
  if (organisation.trim() === '' || team.trim() === '') return { problem: 'must be "<organisation name>/<team name>" with both names' };
  return { kind: 'name', raw, organisation, team };
}

/** The portal's team IDs are integers (the admin API's Team-index-elem ID). */
export function isTeamId(raw: string): boolean {
  return /^[1-9]\d{0,15}$/.test(raw);
}

/** A portal profile's team values that only the admin API can resolve (names and CIDs). */
export function namedTeamValues(p: { UserGroupMapping: Record<string, string> | null; DefaultUserGroupID: string }): string[] {
  return [...Object.values(p.UserGroupMapping ?? {}), p.DefaultUserGroupID ?? ''].filter((v) => typeof v === 'string' && v !== '' && isNamedRef(v));
}
