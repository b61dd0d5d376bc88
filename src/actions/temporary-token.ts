/**
 * GenerateTemporaryAuthToken (docs/tib-behaviour.md §5.7): a standard Tyk key for the user. `POST /api/keys` on the Dashboard
 * with the profile's DashboardCredential and the session of docs/tib-behaviour.md §5.8 (`expires` = now + TokenAuth.Expires),
 * then a redirect to `ReturnURL#token=<key>`, or without ReturnURL TIB's JSON `{"key_id":"<key>"}`. Unless
 * DisableOneTokenPerAPI is set, the user's previous key from this profile is deleted first.
 */
import { isPlainObject } from '../profiles/fields.js';
import { handlerConfig } from '../profiles/handler-config.js';
import type { Profile } from '../profiles/profile.js';
import type { TykResponse } from '../tyk/client.js';
import type { ActionDeps, Action, ActionResult } from './action.js';
import { badAnswer, callFailure, tykTarget, upstreamFailure, withFragmentParam } from './failures.js';
import { keySession, ssoKey } from './key-session.js';
import { issued, oneTokenFor, recordIssued, revokeAtLogout, revokePrevious } from './one-token.js';

/** TIB's answers for this action (200 text in TIB; here with an honest status, see failures.ts). */
const FAILED = 'Auth token generation failed';
const UNAUTHORISED = 'Auth token generation failed due to invalid user credentials.';

export interface TokenAuthSettings {
  apiId: string;
  /** Key lifetime in whole seconds (TIB truncates the float). */
  expires: number;
  credential: string;
  oneTokenPerUser: boolean;
}

/** The action's settings from its typed IdentityHandlerConfig (profiles/handler-config.ts). */
export function tokenAuthSettings(profile: Profile): TokenAuthSettings {
  const c = handlerConfig(profile);
  return {
    apiId: c.TokenAuth.BaseAPIID,
    expires: Math.max(1, Math.trunc(c.TokenAuth.Expires)),
    credential: c.DashboardCredential,
    oneTokenPerUser: !c.DisableOneTokenPerAPI,
  };
}

export function createTemporaryToken(profile: Profile, deps: ActionDeps): Action {
  const s = tokenAuthSettings(profile);
  const dash = tykTarget(deps.config, 'DashboardCredential');
  const oneToken = oneTokenFor(profile.ID, deps, { apiId: s.apiId, credential: s.credential, enabled: s.oneTokenPerUser, message: FAILED, unauthorisedMessage: UNAUTHORISED });
  return {
    async run(input): Promise<ActionResult> {
      const one = oneToken(ssoKey(input.identity));
      const revoked = await revokePrevious(one);
      if ('failure' in revoked) return revoked.failure;

      const body = keySession(profile, input.identity, { apiId: s.apiId, expires: Math.floor(Date.now() / 1000) + s.expires, oauthClientId: '' });
      let res: TykResponse;
      try {
        res = await deps.tyk.dashboard('/api/keys', { method: 'POST', credential: s.credential, body });
      } catch (err) {
        return callFailure(err, FAILED, dash);
      }
      if (!issued(res.status)) return upstreamFailure('POST /api/keys', res.status, FAILED, dash);
      const keyId = isPlainObject(res.json) ? res.json.key_id : undefined;
      if (typeof keyId !== 'string' || keyId === '') return badAnswer('POST /api/keys answered without a key_id', FAILED, dash);

      await recordIssued(one, keyId, s.expires, revoked.handled);
      if (!profile.ReturnURL) return { kind: 'json', status: 200, body: { key_id: keyId } };
      return { kind: 'redirect', url: withFragmentParam(profile.ReturnURL, 'token', keyId) };
    },
    endSession: (key) => revokeAtLogout(oneToken(key)),
  };
}
