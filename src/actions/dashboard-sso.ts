/** GenerateOrLoginUserProfile: Dashboard SSO (docs/tib-behaviour.md §5.4). */
import { resolveOrgRule } from '../identity/org.js';
import type { Profile } from '../profiles/profile.js';
import type { ActionDeps, Action } from './action.js';
import { withParam } from './failures.js';
import { requestNonce } from './sso-nonce.js';

export function createDashboardSso(profile: Profile, deps: ActionDeps): Action {
  return {
    async run(input) {
      // The rule explain used to allow this login (src/identity/explain.ts): the same organisation, never another.
      const org = resolveOrgRule(profile, input.identity.raw);
      if (!org.ok) return { kind: 'failure', failure: { reason: org.reason, status: 400, message: 'Login failed', class: 'identity_incomplete' } };
      const r = await requestNonce(deps, 'dashboard', { ...input, orgId: org.value.value });
      if ('failure' in r) return r.failure;
      if (!profile.ReturnURL) return { kind: 'text', status: 200, body: "Check with your admin why there's no URI defined" };
      return { kind: 'redirect', url: withParam(profile.ReturnURL, 'nonce', r.nonce) };
    },
  };
}
