/**
 * Explain's dry run (`identity-broker explain`, `POST /api/profiles/{id}/explain`): the identity the profile's
 * provider would build from claims or attributes given as JSON, by the function its own logins use (its
 * ProviderModule's identityFromClaims), then explained by the pipeline's own explainIdentity.
 */
import { explainIdentity, type Explanation } from '../identity/explain.js';
import { typeName } from '../identity/result.js';
import type { Profile } from '../profiles/profile.js';
import { ClaimsError } from '../providers/module.js';
import type { ProviderRegistry } from '../providers/registry.js';

/** `username` is what the user would type at a password login (optional: the entry's own value is used). May throw a ClaimsError. */
export function explainClaims(providers: ProviderRegistry, profile: Profile, claims: unknown, username = ''): Explanation {
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new ClaimsError(`the claims must be a JSON object, got ${typeName(claims)}`);
  }
  return explainIdentity(profile, providers.identityFromClaims(profile, claims as Record<string, unknown>, username));
}
