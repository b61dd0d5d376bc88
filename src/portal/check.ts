/**
 * Every team a portal profile names, resolved against the live portal before any user meets an unknown one
 * (docs/portal-membership.md): `identity-broker portal check` (src/cli/portal-check.ts) and the admin API's
 * profile writes (src/http/admin-api.ts) both call `checkProfileTeams`, so they cannot disagree.
 */
import type { Config } from '../config/types.js';
import type { Profile } from '../profiles/profile.js';
import { tykTargetsOf } from '../profiles/tyk-settings.js';
import type { TykApi } from '../tyk/client.js';
import { portalApiBase } from '../tyk/client.js';
import { createPortalApi, PortalApiError } from './api.js';
import { listPortalTeams, resolveTeamRef, type DirectorySnapshot, type PortalTeam } from './directory.js';
import { isNamedRef, parseTeamRef } from './team-ref.js';

/** One team value of a profile: where it is (`UserGroupMapping` with its group, or `DefaultUserGroupID`) and what it says. */
export interface TeamValue {
  field: 'UserGroupMapping' | 'DefaultUserGroupID';
  /** The IdP group whose value it is (UserGroupMapping only). */
  group?: string;
  value: string;
}

export interface TeamProblem extends TeamValue {
  /** The resolver's reason, with its "did you mean" (src/portal/directory.ts resolveTeamRef). */
  reason: string;
}

export type ProfileTeamCheck =
  /** Not a portal profile, or it names no team. */
  | { kind: 'none' }
  /** It needs the portal (names or CIDs, or "idp" membership) but no PortalAPIConfig.Endpoint is set. */
  | { kind: 'no-portal'; values: TeamValue[] }
  /** Plain team IDs only and no portal configured: nothing to check against (TIB's behaviour). */
  | { kind: 'unchecked'; values: TeamValue[] }
  /** The portal could not be asked: unreachable, too slow, or it refused the token. */
  | { kind: 'unreachable'; portal: string; reason: string; values: TeamValue[] }
  | { kind: 'checked'; portal: string; values: TeamValue[]; problems: TeamProblem[]; teams: PortalTeam[] };

/** What the check reads: tib.conf's Tyk targets, the broker's Tyk client, and optionally a shared directory per portal. */
export interface PortalCheckDeps {
  config: Pick<Config, 'TykAPISettings'>;
  tyk: Pick<TykApi, 'withSettings'>;
  /** The portal's teams read now (the admin API passes the broker's cached directory so logins see them too). */
  load?: (tyk: TykApi, settings: Config['TykAPISettings']['PortalAPIConfig']) => Promise<DirectorySnapshot>;
}

/** Portal SSO profiles, and any profile carrying Membership (validation refuses it elsewhere, but it asked for the portal). */
export function isPortalProfile(p: Pick<Profile, 'ActionType' | 'Membership'>): boolean {
  return p.ActionType === 'GenerateOrLoginDeveloperProfile' || p.Membership !== undefined;
}

/** A portal profile's team values, in the profile's order (UserGroupMapping, then DefaultUserGroupID). */
export function teamValuesOf(p: Pick<Profile, 'ActionType' | 'Membership' | 'UserGroupMapping' | 'DefaultUserGroupID'>): TeamValue[] {
  if (!isPortalProfile(p)) return [];
  const out: TeamValue[] = Object.entries(p.UserGroupMapping ?? {}).map(([group, value]) => ({ field: 'UserGroupMapping' as const, group, value }));
  if (p.DefaultUserGroupID) out.push({ field: 'DefaultUserGroupID', value: p.DefaultUserGroupID });
  return out;
}

/** Where a value is, for one line of a report: `UserGroupMapping "admins"` or `DefaultUserGroupID`. */
export function describeTeamValue(v: TeamValue): string {
  return v.field === 'UserGroupMapping' ? `UserGroupMapping ${JSON.stringify(v.group)}` : 'DefaultUserGroupID';
}

/** Every organisation and its teams, read now through the admin API. */
export async function loadDirectory(tyk: TykApi): Promise<DirectorySnapshot> {
  return { teams: await listPortalTeams(createPortalApi(tyk)), loadedAt: Date.now() };
}

/**
 * Resolves every team value of a profile against its portal (tib.conf's PortalAPIConfig, overridden by the
 * profile's own TykAPISettings). Plain team IDs are checked to exist too: the portal fails the login of
 * anyone sent to a team it does not have. Only a PortalApiError is caught; anything else is a bug.
 */
export async function checkProfileTeams(p: Profile, deps: PortalCheckDeps): Promise<ProfileTeamCheck> {
  const values = teamValuesOf(p);
  const idp = p.Membership?.Authority === 'idp';
  if (values.length === 0 && !idp) return { kind: 'none' };
  const targets = tykTargetsOf(deps.config, p);
  const settings = targets.PortalAPIConfig;
  if (!settings.Endpoint) return values.some((v) => isNamedRef(v.value)) || idp ? { kind: 'no-portal', values } : { kind: 'unchecked', values };
  const tyk = deps.tyk.withSettings(targets);
  const portal = portalApiBase(settings);
  let snapshot: DirectorySnapshot;
  try {
    snapshot = await (deps.load ? deps.load(tyk, settings) : loadDirectory(tyk));
  } catch (err) {
    if (!(err instanceof PortalApiError)) throw err;
    return { kind: 'unreachable', portal, reason: err.message, values };
  }
  const problems: TeamProblem[] = [];
  const teams: PortalTeam[] = [];
  for (const v of values) {
    const ref = parseTeamRef(v.value);
    const r = 'problem' in ref ? ref : resolveTeamRef(snapshot, ref);
    if ('problem' in r) problems.push({ ...v, reason: r.problem });
    else teams.push(r.team);
  }
  return { kind: 'checked', portal, values, problems, teams };
}

/** One line per unknown team: the group (or DefaultUserGroupID), the team as written, and why. */
export function describeTeamProblem(x: TeamProblem): string {
  return `${describeTeamValue(x)}: team ${JSON.stringify(x.value)}: ${x.reason}`;
}
