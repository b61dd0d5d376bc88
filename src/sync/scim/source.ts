/**
 * The people a SCIM-fed profile holds (issue 20, item 5; `Sync.Source: "scim"`): each stored active User as the
 * identity a login would carry (src/identity/identity.ts), so the engine (src/sync/engine.ts) applies the
 * profile's own rules: a scheduled run lists them all, a push reconciles the people it changed.
 *
 * userId is the userName; the email the primary one, else the first "work" one, else the first, else the
 * userName when it is an email; names from name.givenName/familyName; the groups are the displayNames of the
 * SCIM Groups the user is a member of, under the profile's CustomUserGroupField (or "groups") as a claim list,
 * which the login's mapping reads (src/identity/mapping.ts); provider is the profile's ProviderName.
 */
import type { Identity } from '../../identity/identity.js';
import type { Profile } from '../../profiles/profile.js';
import type { ScimResource, ScimStore } from '../../state/scim-store.js';
import type { PeopleLister } from '../sources.js';

const EMAIL = /^[^\s@]+@[^\s@]+$/;

interface Email {
  value?: unknown;
  type?: unknown;
  primary?: unknown;
}

function emailOf(user: ScimResource): string {
  const emails = (Array.isArray(user.emails) ? user.emails : []) as Email[];
  const pick = emails.find((e) => e.primary === true) ?? emails.find((e) => e.type === 'work') ?? emails[0];
  if (typeof pick?.value === 'string' && pick.value !== '') return pick.value;
  const userName = String(user.userName ?? '');
  return EMAIL.test(userName) ? userName : '';
}

/** The claim the groups go under: the profile's CustomUserGroupField, as the login's identity carries them. */
export const groupClaim = (profile: Pick<Profile, 'CustomUserGroupField'>) => profile.CustomUserGroupField || 'groups';

/** The displayNames of the groups `userId` is a member of. */
export function groupsOf(userId: string, groups: readonly ScimResource[]): string[] {
  return groups.filter((g) => Array.isArray(g.members) && (g.members as Array<{ value?: unknown }>).some((m) => m.value === userId)).map((g) => String(g.displayName ?? ''));
}

export function scimIdentity(profile: Profile, user: ScimResource, groupNames: readonly string[]): Identity {
  const name = (typeof user.name === 'object' && user.name !== null ? user.name : {}) as Record<string, unknown>;
  const first = typeof name.givenName === 'string' ? name.givenName : '';
  const last = typeof name.familyName === 'string' ? name.familyName : '';
  const userName = String(user.userName ?? '');
  const email = emailOf(user);
  return {
    userId: userName,
    email,
    displayName: typeof user.displayName === 'string' ? user.displayName : [first, last].filter(Boolean).join(' '),
    firstName: first,
    lastName: last,
    raw: { userName, email, given_name: first, family_name: last, scim_id: user.id, [groupClaim(profile)]: [...groupNames] },
    provider: profile.ProviderName,
  };
}

/** Every active user of the profile as an identity; an inactive user is left out (a run deprovisions them). */
export function scimPeople(store: ScimStore, profile: Profile): PeopleLister {
  return async () => {
    const [users, groups] = await Promise.all([store.list(profile.ID, 'User'), store.list(profile.ID, 'Group')]);
    const byUser = new Map<string, string[]>();
    for (const g of groups) {
      for (const m of (Array.isArray(g.members) ? g.members : []) as Array<{ value?: unknown }>) {
        if (typeof m.value !== 'string') continue;
        const list = byUser.get(m.value) ?? [];
        list.push(String(g.displayName ?? ''));
        byUser.set(m.value, list);
      }
    }
    return users.filter((u) => u.active !== false).map((u) => scimIdentity(profile, u, byUser.get(u.id) ?? []));
  };
}
