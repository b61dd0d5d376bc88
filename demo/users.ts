/** The demo OpenID Provider's users: one per kind of outcome the demo profiles show. */

export interface DemoUser {
  /** The OP's account id (the id_token's `sub`). */
  id: string;
  name: string;
  givenName: string;
  familyName: string;
  email: string;
  /** The `groups` claim the profiles map to teams. */
  groups: string[];
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
    note: 'a developer: one mapped team',
  },
  {
    id: 'alex',
    name: 'Alex Admin',
    givenName: 'Alex',
    familyName: 'Admin',
    email: 'alex@example.com',
    groups: ['admins', 'developers'],
    note: 'an administrator who also develops: two mapped teams, in the order the IdP lists the groups',
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

/** The standard claims of a user, as the OP releases them. */
export function userClaims(u: DemoUser): { sub: string } & Record<string, unknown> {
  return { sub: u.id, email: u.email, email_verified: true, name: u.name, given_name: u.givenName, family_name: u.familyName, groups: u.groups };
}
