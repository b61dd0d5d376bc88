/**
 * Explain's portal view (`explain --portal`, `POST /api/profiles/{id}/explain?portal=true`): in "idp" membership,
 * the teams and organisation the login would set, resolved through the portal's admin API, the mapped teams
 * dropped, and the field-by-field difference from the account as it is. READ ONLY: it lists and reads users
 * (GET only), never creates, updates or deletes, and never touches the SSO-key links; the login's own reconcile
 * (src/portal/reconcile.ts) is the one that writes. The same pure functions (src/portal/membership.ts) decide.
 */
import type { Explanation } from '../identity/explain.js';
import type { RoleChoice } from '../identity/membership.js';
import type { Profile } from '../profiles/profile.js';
import { tykTargetsOf } from '../profiles/tyk-settings.js';
import { portalApiBase } from '../tyk/client.js';
import { createPortalApi, PortalApiError } from './api.js';
import { loadDirectory, type PortalCheckDeps } from './check.js';
import { resolveTeamRef } from './directory.js';
import { accountChanges, desiredAccount, desiredMembership, type DroppedTeam, type FieldChange } from './membership.js';
import { findByEmail, isConsumer, NO_ACCOUNT, notConsumer, stateOf, teamRefs } from './reconcile.js';

export interface PortalView {
  /** The portal's admin API base ("" when none is configured). */
  portal: string;
  outcome: 'matches' | 'differs' | 'create' | 'refused' | 'unreachable';
  /** Why: refused (an unknown team, RegisteredOnly, an account the broker does not manage), unreachable, no portal. */
  reason?: string;
  organisation?: { id: number; name: string };
  teams?: Array<{ ref: string; id: number; name: string }>;
  role?: RoleChoice;
  dropped?: DroppedTeam[];
  /** The account as it is (its email left out), when one was found by the person's email. */
  account?: { id: number; organisationId: number; role: string; active: boolean; teams: number[] };
  /** What the login would write; an Email change shows no address. */
  changes?: FieldChange[];
}

/** Email values are never shown: the explanation already gives the login's own, and the account's may be another person's guess. */
const HIDDEN = '(an email address, not shown)';
const masked = (c: FieldChange): FieldChange => (c.field === 'Email' ? { field: 'Email', before: HIDDEN, after: HIDDEN } : c);

/** The portal's view of an allowed "idp" explanation; undefined when the profile is not in "idp" membership. */
export async function explainPortal(profile: Profile, x: Explanation, deps: PortalCheckDeps): Promise<PortalView | undefined> {
  const m = profile.Membership;
  if (profile.ActionType !== 'GenerateOrLoginDeveloperProfile' || m?.Authority !== 'idp' || x.outcome !== 'allowed') return undefined;
  const targets = tykTargetsOf(deps.config, profile);
  if (!targets.PortalAPIConfig.Endpoint) return { portal: '', outcome: 'unreachable', reason: 'TykAPISettings.PortalAPIConfig.Endpoint is not set (tib.conf or the profile\'s own TykAPISettings)' };
  const portal = portalApiBase(targets.PortalAPIConfig);
  const tyk = deps.tyk.withSettings(targets);
  const api = createPortalApi(tyk);
  try {
    const snapshot = await (deps.load ? deps.load(tyk, targets.PortalAPIConfig) : loadDirectory(tyk));
    const resolved = teamRefs(x.teams).map((r) => resolveTeamRef(snapshot, r));
    const wanted = desiredMembership(m, x.teams, resolved, Object.keys(profile.UserGroupMapping ?? {}), x.groups?.value);
    if (!wanted.ok) return { portal, outcome: 'refused', reason: wanted.reason };
    const d = wanted.value;
    // Each team as the profile names it.
    const refOf = new Map<number, string>();
    resolved.forEach((r, i) => 'team' in r && !refOf.has(r.team.id) && refOf.set(r.team.id, x.teams[i]?.team ?? ''));
    const view: PortalView = {
      portal,
      outcome: 'matches',
      organisation: { id: d.organisationId, name: d.organisationName },
      teams: d.teams.map((t) => ({ ref: refOf.get(t.id) ?? String(t.id), id: t.id, name: t.name })),
      role: d.role,
      dropped: d.dropped,
    };
    // As the login finds it when no SSO-key link is kept: the first user with this email (GET only).
    const current = await findByEmail(api, x.email.value);
    const person = { email: x.email.value, first: x.identity.firstName, last: x.identity.lastName };
    if (!current) {
      if (m.RegisteredOnly) return { ...view, outcome: 'refused', reason: 'the developer has no portal account (by email) and Membership.RegisteredOnly is true' };
      return { ...view, outcome: 'create', changes: accountChanges(NO_ACCOUNT, desiredAccount(undefined, d, person)).map(masked) };
    }
    if (!isConsumer(current)) return { ...view, outcome: 'refused', reason: notConsumer(current) };
    const before = stateOf(current);
    const changes = accountChanges(before, desiredAccount(before, d, person)).map(masked);
    const account = { id: current.ID, organisationId: current.OrganisationID, role: current.Role, active: current.Active, teams: current.Teams };
    return { ...view, outcome: changes.length > 0 ? 'differs' : 'matches', account, changes };
  } catch (err) {
    if (!(err instanceof PortalApiError)) throw err;
    return { portal, outcome: 'unreachable', reason: err.message };
  }
}
