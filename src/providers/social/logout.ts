/**
 * OpenID Connect RP-initiated logout 1.0 for SocialProvider's openid-connect entry (docs/logout.md): `begin`
 * sends the browser to discovery's end_session_endpoint with the kept login's id token as `id_token_hint` (else
 * its `sub` as `logout_hint`, where the IdP takes one; with nothing kept, our client_id alone), our
 * `post_logout_redirect_uri` (CallbackBaseURL + /auth/{id}/logout/callback) and the broker's `state`; `receive`
 * takes the OP's return there and hands its state to the http layer, which opens this browser's logout flow
 * cookie with it (http/logout-routes.ts). The OAuth presets (github, ...) have no end_session: no logout.
 */
import type { LoginFailure, LoginRequest, LogoutReceived, ProviderLogout } from '../provider.js';
import { describe } from './handler.js';
import type { OidcHandler } from './oidc.js';

/** A logout answer this browser cannot have started: the failure response, never the Tyk step. */
function refused(reason: string): LogoutReceived {
  const failure: LoginFailure = { reason, status: 400, message: 'Logout failed', class: 'state_invalid' };
  return { kind: 'failure', failure };
}

export function createOidcLogout(o: { handler: OidcHandler; profileId: string; base: string; backchannel?: ProviderLogout['backchannel'] }): ProviderLogout {
  const postLogout = `${o.base}/auth/${encodeURIComponent(o.profileId)}/logout/callback`;
  return {
    baseUrl: o.base,
    async begin(session, ctx) {
      const params: Record<string, string> = { post_logout_redirect_uri: postLogout, state: ctx.state };
      if (session?.idToken) params.id_token_hint = session.idToken;
      else if (session?.sub) params.logout_hint = session.sub;
      try {
        const url = await o.handler.endSessionUrl(params);
        return url ? { kind: 'redirect', url: url.toString() } : undefined;
      } catch (err) {
        return { kind: 'failure', failure: { reason: `cannot start the logout at the IdP: ${describe(err)}`, status: 502, message: 'Logout failed', class: 'idp_error' } };
      }
    },
    receive(req: LoginRequest) {
      const q = req.query;
      if (typeof q.error === 'string') return Promise.resolve(refused(`the identity provider answered the logout with error=${q.error.slice(0, 64)}`));
      const state = typeof q.state === 'string' ? q.state : '';
      if (!state) return Promise.resolve(refused('logout callback without a state parameter'));
      return Promise.resolve({ kind: 'finished', state });
    },
    ...(o.backchannel && { backchannel: o.backchannel }),
  };
}
