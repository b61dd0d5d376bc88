/**
 * GenerateOrLoginDeveloperProfile: classic Portal SSO (docs/tib-behaviour.md §5.5). After the nonce, the developer is found by
 * SSO key and updated (keeping every field we do not model), or created when there is none.
 * With `Membership.Authority: "idp"` the portal account is reconciled first (src/actions/portal-membership.ts);
 * team names and CIDs are resolved to team IDs before the SSO call carries them.
 */
import { handlerConfig } from '../profiles/handler-config.js';
import type { Profile } from '../profiles/profile.js';
import type { TykResponse } from '../tyk/client.js';
import type { ActionDeps, Action, ActionResult } from './action.js';
import { badAnswer, callFailure, tykTarget, upstreamFailure, withParam } from './failures.js';
import { portalTeams } from './portal-membership.js';
import { requestNonce } from './sso-nonce.js';

/** TIB's body for a new developer (docs/tib-behaviour.md §5.5), including the zero values it sends. */
export function newDeveloper(profile: Profile, email: string, nonce: string, ssoKey: string, now: Date) {
  return {
    id: '',
    email,
    date_created: now.toISOString(),
    inactive: false,
    org_id: profile.OrgID,
    keys: {},
    subscriptions: {},
    fields: {},
    nonce,
    sso_key: ssoKey,
    password_max_days: 0,
    password_updated: '0001-01-01T00:00:00Z',
    PWHistory: null,
    last_login_date: '0001-01-01T00:00:00Z',
  };
}

export function createPortalSso(profile: Profile, deps: ActionDeps): Action {
  const credential = handlerConfig(profile).DashboardCredential;
  const dash = tykTarget(deps.config, 'DashboardCredential');
  const teamsOf = portalTeams(profile, deps);
  return {
    async run(input): Promise<ActionResult> {
      const ssoKey = `${input.userId}@${input.identity.provider}.com`;
      const teams = await teamsOf(input, ssoKey);
      if ('failure' in teams) return teams.failure;
      const r = await requestNonce(deps, 'portal', { ...input, teams: teams.teams });
      if ('failure' in r) return r.failure;

      try {
        // A path segment: encodeURIComponent, so a space is %20 (TIB's query escaping gives "+").
        const path = `/api/portal/developers/ssokey/${encodeURIComponent(ssoKey)}`;
        const found: TykResponse = await deps.tyk.dashboard(path, { method: 'GET', credential });
        if (found.status === 404) {
          // The email is the one the SSO nonce carries (CustomEmailField applied); TIB uses the raw provider email.
          const body = newDeveloper(profile, input.email, r.nonce, ssoKey, new Date());
          const created = await deps.tyk.dashboard('/api/portal/developers', { method: 'POST', credential, body });
          if (created.status !== 200 && created.status !== 201) return upstreamFailure('POST /api/portal/developers', created.status, undefined, dash);
        } else if (found.status === 200) {
          const dev = found.json;
          if (typeof dev !== 'object' || dev === null || Array.isArray(dev)) return badAnswer('developer lookup answered a non-object', undefined, dash);
          const record = { ...(dev as Record<string, unknown>) };
          const id = record.id;
          if (typeof id !== 'string' || !/^[0-9a-f]{24}$/i.test(id)) return badAnswer('developer lookup answered without a valid id', undefined, dash);
          if (!record.email) record.email = input.email;
          record.nonce = r.nonce;
          const updated = await deps.tyk.dashboard(`/api/portal/developers/${id}`, { method: 'PUT', credential, body: record });
          if (updated.status !== 200 && updated.status !== 201) return upstreamFailure('PUT /api/portal/developers/<id>', updated.status, undefined, dash);
        } else {
          return upstreamFailure('GET /api/portal/developers/ssokey/<key>', found.status, undefined, dash);
        }
      } catch (err) {
        return callFailure(err, undefined, dash);
      }

      if (!profile.ReturnURL) return { kind: 'text', status: 200, body: 'Success! (Have you set a return URL?)' };
      return { kind: 'redirect', url: withParam(profile.ReturnURL, 'nonce', r.nonce) };
    },
  };
}
