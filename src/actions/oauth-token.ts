/**
 * GenerateOAuthTokenForClient (docs/tib-behaviour.md §5.6): an OAuth token for a Tyk OAuth client, through the Gateway's
 * `POST {listen path}/tyk/oauth/authorize-client/` (X-Tyk-Authorization, a form with response_type,
 * client_id, redirect_uri and key_rules = the session of docs/tib-behaviour.md §5.8 with expires -1 and oauth_client_id).
 * With NoRedirect the browser gets the Gateway's answer as JSON; otherwise a redirect to its `redirect_to`,
 * which carries the token or code. Unless DisableOneTokenPerAPI is set, the user's previous access token from
 * this profile is deleted through the Dashboard first.
 */
import { isPlainObject } from '../profiles/fields.js';
import { handlerConfig } from '../profiles/handler-config.js';
import type { Profile } from '../profiles/profile.js';
import { listenPathPrefix, type TykResponse } from '../tyk/client.js';
import type { ActionDeps, Action, ActionResult } from './action.js';
import { badAnswer, callFailure, tykTarget, upstreamFailure } from './failures.js';
import { keySession, ssoKey } from './key-session.js';
import { issued, oneTokenFor, recordIssued, revokeAtLogout, revokePrevious } from './one-token.js';

/** TIB's answer for every failure of this action. */
const FAILED = 'OAuth token generation failed';
/** The Gateway's default OAuth token lifetime, for an answer without expires_in. */
const DEFAULT_TOKEN_SECONDS = 3600;

export interface OAuthSettings {
  listenPath: string;
  redirectUri: string;
  responseType: string;
  clientId: string;
  apiId: string;
  noRedirect: boolean;
  credential: string;
  oneTokenPerUser: boolean;
}

/** The action's settings from its typed IdentityHandlerConfig (profiles/handler-config.ts). */
export function oauthSettings(profile: Profile): OAuthSettings {
  const c = handlerConfig(profile);
  const o = c.OAuth;
  return {
    listenPath: o.APIListenPath,
    redirectUri: o.RedirectURI,
    responseType: o.ResponseType,
    clientId: o.ClientId,
    apiId: o.BaseAPIID,
    noRedirect: o.NoRedirect,
    credential: c.DashboardCredential,
    oneTokenPerUser: !c.DisableOneTokenPerAPI,
  };
}

/** The Gateway's answer in TIB's OAuthResponse shape (Go zero values for what is missing), plus `code` when sent. */
export function oauthAnswer(json: Record<string, unknown>) {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const out: { access_token: string; expires_in: number; redirect_to: string; token_type: string; code?: string } = {
    access_token: str(json.access_token),
    expires_in: typeof json.expires_in === 'number' && Number.isFinite(json.expires_in) ? Math.trunc(json.expires_in) : 0,
    redirect_to: str(json.redirect_to),
    token_type: str(json.token_type),
  };
  // TIB drops it, which leaves a NoRedirect code flow without its code.
  if (typeof json.code === 'string' && json.code !== '') out.code = json.code;
  return out;
}

/** Where the browser may be sent: any absolute URL (apps register custom schemes) but script and data URLs. */
function redirectable(url: string): boolean {
  try {
    return !['javascript:', 'data:', 'vbscript:', 'file:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

export function createOAuthToken(profile: Profile, deps: ActionDeps): Action {
  const s = oauthSettings(profile);
  const path = `${listenPathPrefix(s.listenPath)}/tyk/oauth/authorize-client/`;
  const gateway = tykTarget(deps.config, 'GatewayConfig.AdminSecret');
  const oneToken = oneTokenFor(profile.ID, deps, { apiId: s.apiId, credential: s.credential, enabled: s.oneTokenPerUser, message: FAILED, unauthorisedMessage: FAILED });
  return {
    async run(input): Promise<ActionResult> {
      const one = oneToken(ssoKey(input.identity));
      const revoked = await revokePrevious(one);
      if ('failure' in revoked) return revoked.failure;

      const keyRules = keySession(profile, input.identity, { apiId: s.apiId, expires: -1, oauthClientId: s.clientId });
      // TIB's field order; every value form-encoded (TIB escaped key_rules only).
      const form = new URLSearchParams([
        ['response_type', s.responseType],
        ['client_id', s.clientId],
        ['redirect_uri', s.redirectUri],
        ['key_rules', JSON.stringify(keyRules)],
      ]).toString();
      let res: TykResponse;
      try {
        res = await deps.tyk.gateway(path, { method: 'POST', body: form, contentType: 'application/x-www-form-urlencoded' });
      } catch (err) {
        return callFailure(err, FAILED, gateway);
      }
      if (!issued(res.status)) return upstreamFailure(`POST ${path}`, res.status, FAILED, gateway);
      if (!isPlainObject(res.json)) return badAnswer(`POST ${path} answered without a JSON object`, FAILED, gateway);
      const answer = oauthAnswer(res.json);

      if (answer.access_token) {
        await recordIssued(one, answer.access_token, answer.expires_in > 0 ? answer.expires_in : DEFAULT_TOKEN_SECONDS, revoked.handled);
      }
      if (s.noRedirect) return { kind: 'json', status: 200, body: answer };
      if (answer.redirect_to === '') return { kind: 'text', status: 200, body: '' };
      if (!redirectable(answer.redirect_to)) return badAnswer(`POST ${path} answered with a redirect_to that is not an absolute URL`, FAILED);
      return { kind: 'redirect', url: answer.redirect_to };
    },
    endSession: (key) => revokeAtLogout(oneToken(key)),
  };
}
