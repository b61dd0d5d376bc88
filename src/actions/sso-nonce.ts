/**
 * The one-time SSO nonce shared by the dashboard and portal actions (docs/tib-behaviour.md §5.3): `POST /api/sso` with the
 * profile's DashboardCredential. The admin endpoint `POST /admin/sso` (Admin-Auth) is used only when the
 * profile has no credential or the Dashboard has no /api/sso (404/405). TIB falls back on any error,
 * including 401 for a wrong credential, which quietly escalates to the admin secret: we do not.
 */
import { handlerConfig } from '../profiles/handler-config.js';
import type { TykResponse } from '../tyk/client.js';
import type { ActionDeps, ActionInput, ActionResult } from './action.js';
import { badAnswer, callFailure, tykTarget, upstreamFailure } from './failures.js';

export type Section = 'dashboard' | 'portal';

/** TIB's SSOAccessData, keys and order exactly. */
export function ssoBody(section: Section, input: ActionInput) {
  return {
    ForSection: section,
    OrgID: input.orgId ?? input.profile.OrgID,
    EmailAddress: input.email,
    DisplayName: input.displayName,
    GroupID: input.teams[0] ?? '',
    GroupsIDs: input.teams,
    SSOOnlyForRegisteredUsers: input.profile.SSOOnlyForRegisteredUsers,
  };
}

const OK = (r: TykResponse) => r.status === 200 || r.status === 201;

export async function requestNonce(deps: Pick<ActionDeps, 'tyk' | 'log' | 'config'>, section: Section, input: ActionInput): Promise<{ nonce: string } | { failure: ActionResult }> {
  const { tyk, log } = deps;
  const body = ssoBody(section, input);
  const credential = handlerConfig(input.profile).DashboardCredential;
  let res: TykResponse;
  let which = '/api/sso';
  try {
    if (credential) {
      res = await tyk.dashboard('/api/sso', { method: 'POST', credential, body });
    } else {
      log.warn('profile has no IdentityHandlerConfig.DashboardCredential: using the Dashboard admin SSO endpoint', { profile: input.profile.ID });
      res = { status: 404, json: undefined };
    }
    if (res.status === 404 || res.status === 405) {
      if (credential) log.warn('the Dashboard has no /api/sso: falling back to /admin/sso', { profile: input.profile.ID });
      which = '/admin/sso';
      res = await tyk.dashboardAdmin('/admin/sso', { method: 'POST', body });
    }
  } catch (err) {
    return { failure: callFailure(err, undefined, tykTarget(deps.config, which === '/api/sso' ? 'DashboardCredential' : 'DashboardConfig.AdminSecret')) };
  }
  const target = tykTarget(deps.config, which === '/api/sso' ? 'DashboardCredential' : 'DashboardConfig.AdminSecret');
  if (!OK(res)) return { failure: upstreamFailure(`POST ${which}`, res.status, undefined, target) };
  const meta = (res.json as { Meta?: unknown } | undefined)?.Meta;
  if (typeof meta !== 'string' || meta === '') return { failure: badAnswer(`POST ${which} answered without a nonce in Meta`, undefined, target) };
  return { nonce: meta };
}
