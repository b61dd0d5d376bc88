/**
 * The action seam: an action takes (profile, identity, teams) and returns what the browser gets.
 * Actions know nothing about LDAP or OIDC; all Tyk wire formats live in actions/ and tyk/.
 */
import type { Identity } from '../identity/identity.js';
import type { Profile } from '../profiles/profile.js';
import type { LoginFailure } from '../providers/provider.js';

export type ActionResult =
  /** 302 with Cache-Control: no-store (TIB used 301). */
  | { kind: 'redirect'; url: string }
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'text'; status: number; body: string }
  | { kind: 'failure'; failure: LoginFailure };

export interface ActionInput {
  profile: Profile;
  identity: Identity;
  /** Tyk group / portal team ids from the group mapping, in IdP order, without duplicates. */
  teams: string[];
  /** The email and display name the SSO call should carry (Custom*Field already applied). */
  email: string;
  displayName: string;
}

export interface Action {
  run(input: ActionInput): Promise<ActionResult>;
}
