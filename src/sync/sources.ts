/**
 * Where a sync's people come from (issue 20, `Sync.Source`): the profile's own provider ("ldap",
 * Provider.people), an Okta org ("okta", src/sync/okta/) or what the IdP pushed over SCIM ("scim",
 * src/sync/scim/). Each answers the same thing, the identities the login would build for those people, so the
 * engine (src/sync/engine.ts) applies one set of rules whatever the source.
 */
import type { Identity } from '../identity/identity.js';
import type { Profile } from '../profiles/profile.js';

export type PeopleLister = (opts?: { signal?: AbortSignal }) => Promise<Identity[]>;

/** The sources other than the profile's provider, built once by the broker (or the sync command). */
export interface SyncSources {
  okta?(profile: Profile): PeopleLister;
  scim?(profile: Profile): PeopleLister;
}

/** The lister of a profile's Sync.Source, or why there is none (a message naming the profile). */
export function peopleLister(profile: Profile, provider: { people?: PeopleLister } | undefined, sources: SyncSources | undefined): PeopleLister | { problem: string } {
  const source = profile.Sync?.Source ?? 'ldap';
  if (source === 'ldap') {
    const people = provider?.people;
    if (!people) return { problem: `profile "${profile.ID}": its provider (${profile.ProviderName}) cannot list its people, so it cannot be synced with Sync.Source "ldap"` };
    return (opts) => people.call(provider, opts);
  }
  const build = sources?.[source];
  if (!build) return { problem: `profile "${profile.ID}": Sync.Source "${source}" is not available here` };
  return build(profile);
}
