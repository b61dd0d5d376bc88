/** GenerateOrLoginUserProfile: Dashboard SSO (docs/tib-behaviour.md §5.4). */
import type { Profile } from '../profiles/profile.js';
import type { ActionDeps, Action } from './action.js';
import { withParam } from './failures.js';
import { requestNonce } from './sso-nonce.js';

export function createDashboardSso(profile: Profile, deps: ActionDeps): Action {
  return {
    async run(input) {
      // The organisation is the explanation's (input.orgId, src/identity/org.ts), as the teams are.
      const r = await requestNonce(deps, 'dashboard', input);
      if ('failure' in r) return r.failure;
      if (!profile.ReturnURL) return { kind: 'text', status: 200, body: "Check with your admin why there's no URI defined" };
      return { kind: 'redirect', url: withParam(profile.ReturnURL, 'nonce', r.nonce) };
    },
  };
}
