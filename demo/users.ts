/** The demo OpenID Provider's users: one per kind of outcome the demo profiles show. */

export interface DemoUser {
  /** The OP's account id (the id_token's `sub`). */
  id: string;
  name: string;
  givenName: string;
  familyName: string;
  email: string;
  /** The `groups` claim the profiles map to teams, at start (the landing page can change it: DemoDirectory). */
  groups: readonly string[];
  /** What signing in as this user shows. */
  note: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  {
    id: 'dana',
    name: 'Dana Developer',
    givenName: 'Dana',
    familyName: 'Developer',
    email: 'dana@example.com',
    groups: ['developers'],
    note: 'a developer: one mapped team (move her to another group below and sign in again)',
  },
  {
    id: 'alex',
    name: 'Alex Admin',
    givenName: 'Alex',
    familyName: 'Admin',
    email: 'alex@example.com',
    groups: ['admins', 'developers'],
    note: 'an administrator who also develops: two mapped Dashboard groups, in the order the IdP lists them; a consumer admin in the portal',
  },
  {
    id: 'gus',
    name: 'Gus Guest',
    givenName: 'Gus',
    familyName: 'Guest',
    email: 'gus@example.com',
    groups: [],
    note: 'in no group: the default team',
  },
];

/** The groups a person can put a demo user in on the landing page: the ones the demo profiles map (demo/files.ts). */
export const DEMO_GROUPS: readonly string[] = ['developers', 'partners', 'globex', 'admins'];

/**
 * The demo directory: each user's groups now. The landing page changes them (as an administrator moves someone
 * in the IdP) and the OP releases them in the next id token, so the next sign-in carries the move.
 */
export class DemoDirectory {
  private readonly groups = new Map<string, readonly string[]>(DEMO_USERS.map((u) => [u.id, u.groups]));

  groupsOf(userId: string): readonly string[] {
    return this.groups.get(userId) ?? [];
  }

  /** Known users and groups only, in DEMO_GROUPS order; false for an unknown user. */
  setGroups(userId: string, groups: readonly string[]): boolean {
    if (!this.groups.has(userId)) return false;
    this.groups.set(userId, DEMO_GROUPS.filter((g) => groups.includes(g)));
    return true;
  }
}

/** The standard claims of a user, as the OP releases them, with the groups they are in now. */
export function userClaims(u: DemoUser, groups: readonly string[] = u.groups): { sub: string } & Record<string, unknown> {
  return { sub: u.id, email: u.email, email_verified: true, name: u.name, given_name: u.givenName, family_name: u.familyName, groups: [...groups] };
}
