/**
 * `Sync.Source: "okta"` (issue 20, item 2): the people of an Okta org, read with an API Services app's token
 * (src/sync/okta/token.ts) through the Users, Groups and Group Members APIs (src/sync/okta/client.ts), each
 * built as the profile's OpenID Connect login would build them (src/sync/okta/identity.ts). In scope: users whose
 * status lets them sign in (SIGN_IN_STATUSES) and, with a GroupFilter, who belong to at least one matching group.
 */
import type { Identity } from '../../identity/identity.js';
import type { Logger } from '../../log.js';
import type { Profile } from '../../profiles/profile.js';
import { builtinProviders } from '../../providers/registry.js';
import type { PeopleLister } from '../sources.js';
import { OktaClient } from './client.js';
import { oktaIdentity, SIGN_IN_STATUSES, type OktaGroup, type OktaUser } from './identity.js';
import { readOktaKey } from './token.js';

export interface OktaSourceDeps {
  log: Logger;
  /** tib.conf's SSLInsecureSkipVerify, as the other outbound clients. */
  insecureSkipVerify: boolean;
}

/** Per call to Okta. */
const TIMEOUT_MS = 30_000;
/** Okta's recommended page size for users and group members. */
const PAGE = '200';

/** The people of the org for one profile. */
export async function listOktaPeople(client: OktaClient, profile: Profile, signal?: AbortSignal): Promise<Identity[]> {
  const okta = profile.Sync?.Okta;
  if (!okta) throw new Error(`profile "${profile.ID}" has no Sync.Okta block`);
  const users = await client.list<OktaUser>('/api/v1/users', { search: okta.UserSearch, limit: PAGE }, signal);
  const groups = await client.list<OktaGroup>('/api/v1/groups', { search: okta.GroupFilter, limit: PAGE }, signal);
  const groupsOf = new Map<string, string[]>();
  for (const g of groups) {
    const name = g.profile?.name;
    if (typeof g.id !== 'string' || typeof name !== 'string') continue;
    const members = await client.list<Pick<OktaUser, 'id'>>(`/api/v1/groups/${encodeURIComponent(g.id)}/users`, { limit: PAGE }, signal);
    for (const m of members) groupsOf.set(m.id, [...(groupsOf.get(m.id) ?? []), name]);
  }
  // As the profile's login reads its ID token's claims (for SocialProvider: openid-connect, userId = sub).
  const fromClaims = (claims: Record<string, unknown>) => builtinProviders.identityFromClaims(profile, claims, '');
  const seen = new Set<string>();
  const people: Identity[] = [];
  for (const u of users) {
    if (typeof u.id !== 'string' || seen.has(u.id) || !SIGN_IN_STATUSES.has(u.status)) continue;
    seen.add(u.id);
    const names = groupsOf.get(u.id) ?? [];
    // "Only users who belong to at least one matching group are included" (issue 20).
    if (okta.GroupFilter !== '' && names.length === 0) continue;
    people.push(oktaIdentity(profile, u, names, fromClaims));
  }
  return people;
}

export type OktaSourceBuilder = ((profile: Profile) => PeopleLister) & { close(): Promise<void> };

/**
 * The builder for services.sync.okta (src/services.ts). Each build reads the key file (a rotated key is
 * picked up at the next run); the client, and so its token, is kept per profile while its settings and key stay.
 */
export function oktaSource(deps: OktaSourceDeps): OktaSourceBuilder {
  const clients = new Map<string, { fingerprint: string; client: OktaClient }>();
  const build = (profile: Profile): PeopleLister => {
    const okta = profile.Sync?.Okta;
    if (!okta) return () => Promise.reject(new Error(`profile "${profile.ID}" has no Sync.Okta block`));
    let key;
    try {
      key = readOktaKey(profile.ID, okta);
    } catch (err) {
      return () => Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const fingerprint = JSON.stringify([okta.OrgURL, okta.ClientID, key.kid, key.alg, key.text]);
    let kept = clients.get(profile.ID);
    if (kept?.fingerprint !== fingerprint) {
      // Once per key (the sync command builds the lister twice), as src/providers/saml/saml.ts warns of its key.
      if (key.looseMode) deps.log.warn(`profile "${profile.ID}": Sync.Okta.PrivateKeyFile ${okta.PrivateKeyFile} holds the Okta app's private key and is readable by others (mode ${key.looseMode}); chmod 600 it`);
      void kept?.client.close();
      kept = {
        fingerprint,
        client: new OktaClient({ orgUrl: okta.OrgURL, clientId: okta.ClientID, key, secretOwner: `okta-sync:${profile.ID}`, insecureSkipVerify: deps.insecureSkipVerify, timeoutMs: TIMEOUT_MS }),
      };
      clients.set(profile.ID, kept);
    }
    const client = kept.client;
    return (opts) => listOktaPeople(client, profile, opts?.signal);
  };
  return Object.assign(build, {
    async close() {
      await Promise.all([...clients.values()].map((c) => c.client.close()));
      clients.clear();
    },
  });
}
