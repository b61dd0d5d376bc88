/**
 * The portal teams a Portal SSO login carries (docs/portal-membership.md). Without `Membership.Authority: "idp"`
 * and without team names or CIDs, the mapped values as they are (TIB's wire, byte for byte). With names or CIDs,
 * those resolved to team IDs through the portal's admin API. In "idp" mode, the account reconciled first
 * (src/portal/reconcile.ts) and its teams carried; a refusal ends the login at the failure response, and a portal
 * that cannot be used does too unless `OnPortalError` is "continue".
 */
import type { TeamRule } from '../identity/mapping.js';
import { PortalApiError } from '../portal/api.js';
import { resolveTeamRef } from '../portal/directory.js';
import { reconcileAccount, teamRefs, type PortalTarget } from '../portal/reconcile.js';
import { createPortalServices, type PortalServices } from '../portal/services.js';
import { isNamedRef, namedTeamValues, parseTeamRef } from '../portal/team-ref.js';
import type { Profile } from '../profiles/profile.js';
import { MemoryPortalLinks } from '../state/portal-links.js';
import { MemoryManagedAccounts } from '../state/portal-managed.js';
import type { ActionDeps, ActionInput, ActionResult } from './action.js';

export type TeamsOutcome = { teams: string[] } | { failure: ActionResult };

const failure = (reason: string, status: number, cls: 'constraint' | 'tyk_error', extra: { target?: string; hint?: string } = {}): TeamsOutcome => ({
  failure: { kind: 'failure', failure: { reason, status, message: 'Login failed', class: cls, ...extra } },
});

function portalFailure(err: PortalApiError, base: string): TeamsOutcome {
  const hint =
    err.kind === 'unauthorised' ? "check TykAPISettings.PortalAPIConfig.AdminToken: an admin user's API credential from the portal's profile page"
    : err.kind === 'timeout' ? `no answer in time: check that ${base} is the portal and reachable, or raise TykAPISettings.Timeout`
    : err.kind === 'unreachable' ? `check TykAPISettings.PortalAPIConfig.Endpoint, and that the portal runs`
    : undefined;
  return failure(`portal admin API: ${err.message}`, err.kind === 'timeout' ? 504 : 502, 'tyk_error', { target: base, ...(hint && { hint }) });
}

export function portalTeams(profile: Profile, deps: ActionDeps): (input: ActionInput, ssoKey: string) => Promise<TeamsOutcome> {
  const m = profile.Membership;
  const idp = m?.Authority === 'idp';
  const named = namedTeamValues(profile).length > 0;
  if (!idp && !named) return (input) => Promise.resolve({ teams: input.teams });

  const services: PortalServices = deps.portal ?? createPortalServices({ links: new MemoryPortalLinks(deps.config.SessionSecret), managed: new MemoryManagedAccounts(), log: deps.log });
  const settings = () => deps.config.TykAPISettings.PortalAPIConfig;
  const mappingOrder = Object.keys(profile.UserGroupMapping ?? {});
  const rulesOf = (input: ActionInput): readonly TeamRule[] => input.teamRules ?? input.teams.map((team) => ({ team, groups: [], rule: 'mapped' }));

  const carryOn = (err: PortalApiError, input: ActionInput, t: PortalTarget): TeamsOutcome => {
    deps.log.warn('the portal admin API failed: the login goes on as in "portal" mode (Membership.OnPortalError is "continue")', { profile: profile.ID, reason: err.message });
    // As "portal" mode would send them: names resolved from the team list already held; a name it does not know
    // (or with no list yet) cannot be sent, so it is left out.
    const snapshot = t.directory.cached();
    const teams = input.teams.flatMap((x) => {
      if (!isNamedRef(x)) return [x];
      const ref = parseTeamRef(x);
      const r = snapshot && !('problem' in ref) ? resolveTeamRef(snapshot, ref) : undefined;
      return r && 'team' in r ? [String(r.team.id)] : [];
    });
    return { teams };
  };

  return async (input, ssoKey) => {
    if (settings().Endpoint === '') return failure('the profile names portal teams by name or reconciles accounts, but TykAPISettings.PortalAPIConfig.Endpoint is not set', 500, 'tyk_error');
    const t = services.target(deps.tyk, settings());
    const rules = rulesOf(input);
    if (!m || !idp) {
      // "portal" mode with names: the wire stays TIB's, with the names turned into the IDs the portal knows.
      try {
        const resolved = await t.directory.resolve(teamRefs(rules));
        const teams: string[] = [];
        for (const [i, r] of resolved.entries()) {
          if ('problem' in r) return failure(`team ${JSON.stringify(rules[i]?.team)}: ${r.problem}`, 500, 'tyk_error', { hint: 'run `identity-broker portal check` to find every unknown team' });
          teams.push(String(r.team.id));
        }
        return { teams };
      } catch (err) {
        if (!(err instanceof PortalApiError)) throw err;
        if (m?.OnPortalError === 'continue') return carryOn(err, input, t);
        return portalFailure(err, t.portal);
      }
    }

    try {
      const out = await reconcileAccount(t, services.links, {
        membership: m,
        teamRules: rules,
        mappingOrder,
        groups: input.groups,
        email: input.email,
        first: input.identity.firstName,
        last: input.identity.lastName,
        ssoKey,
        provider: input.identity.provider,
      }, deps.log);
      const dropped = out.membership?.dropped ?? [];
      if (out.kind === 'refused') {
        services.report({ profile: profile.ID, outcome: 'refused', dropped, userId: input.userId });
        return failure(out.reason, 403, 'constraint');
      }
      services.report({ profile: profile.ID, outcome: out.kind, account: out.accountId, changes: out.changes, dropped, userId: input.userId });
      // The account is this profile's now: a directory sync may deprovision it once the person leaves.
      await services.managed.add(t.portal, profile.ID, out.accountId).catch((err: unknown) => {
        deps.log.warn('the portal account could not be recorded as managed: a directory sync will not deprovision it until it reconciles it', { profile: profile.ID, reason: String(err) });
      });
      deps.log.info('portal account reconciled', {
        profile: profile.ID,
        account: out.accountId,
        outcome: out.kind,
        changed: out.changes.map((c) => c.field),
        teams: out.membership.teams.map((x) => x.id),
        ...(dropped.length > 0 && { dropped: dropped.map((d) => d.ref) }),
      });
      return { teams: out.membership.teams.map((x) => String(x.id)) };
    } catch (err) {
      if (!(err instanceof PortalApiError)) throw err;
      services.report({ profile: profile.ID, outcome: 'error', userId: input.userId });
      if (m.OnPortalError === 'continue') return carryOn(err, input, t);
      return portalFailure(err, t.portal);
    }
  };
}
