/**
 * Explain's dry run (`identity-broker explain`, `POST /api/profiles/{id}/explain`): the identity the profile's
 * provider would build from claims or attributes given as JSON, by the function its own logins use (its
 * ProviderModule's identityFromClaims), then explained by the pipeline's own explainIdentity.
 */
import { explainIdentity, type Explanation } from '../identity/explain.js';
import { typeName } from '../identity/result.js';
import { logoutOn } from '../profiles/logout-keys.js';
import type { Profile } from '../profiles/profile.js';
import { ClaimsError } from '../providers/module.js';
import type { ProviderRegistry } from '../providers/registry.js';

/** Whether the profile's logins can be ended at `/auth/{id}/logout` (docs/logout.md), and why. */
export interface LogoutView {
  on: boolean;
  rule: string;
}

export function logoutView(providers: ProviderRegistry, profile: Profile): LogoutView {
  const offered = providers.read(profile.ProviderName, profile.ProviderConfig)?.logout;
  if (!offered) return { on: false, rule: `${profile.ProviderName} with this ProviderConfig offers no logout` };
  if (!logoutOn(profile)) return { on: false, rule: 'none of TykLogoutURL, LogoutRedirectURLs, BackChannelLogout is set' };
  return { on: true, rule: `/auth/${encodeURIComponent(profile.ID)}/logout${profile.BackChannelLogout ? ' and /backchannel-logout' : ''}` };
}

/** `username` is what the user would type at a password login (optional: the entry's own value is used). May throw a ClaimsError. */
export function explainClaims(providers: ProviderRegistry, profile: Profile, claims: unknown, username = ''): Explanation & { logout: LogoutView } {
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new ClaimsError(`the claims must be a JSON object, got ${typeName(claims)}`);
  }
  return { ...explainIdentity(profile, providers.identityFromClaims(profile, claims as Record<string, unknown>, username)), logout: logoutView(providers, profile) };
}
