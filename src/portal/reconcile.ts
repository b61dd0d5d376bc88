/**
 * "idp" mode's reconcile (docs/portal-membership.md): before the browser goes to the portal, make the person's
 * portal account match the directory through the admin API. The account is found by the link the broker kept
 * for the SSO key (src/state/portal-links.ts), else by email; created when missing (unless RegisteredOnly);
 * then only what differs is written. A new account that cannot be given its teams is deleted again, so a failed
 * login leaves nothing half written. The portal's documented SSO flow then logs the person into that account:
 * it finds it by SSO key or email and, since it already has teams, leaves them as they are.
 */
import type { TeamRule } from '../identity/mapping.js';
import type { Logger } from '../log.js';
import { PORTAL_ROLES, type Membership } from '../profiles/profile.js';
import type { PortalLinks } from '../state/portal-links.js';
import { PortalApiError, type PortalAccount, type PortalApi, type PortalUserWrite } from './api.js';
import type { PortalDirectory } from './directory.js';
import { accountChanges, desiredAccount, desiredMembership, type AccountState, type DesiredMembership, type FieldChange } from './membership.js';
import { parseTeamRef, type TeamRef } from './team-ref.js';

export interface PortalTarget {
  api: PortalApi;
  directory: PortalDirectory;
  /** The portal's base URL: links are kept per portal. */
  portal: string;
}

export interface ReconcileInput {
  membership: Membership;
  /** The mapped teams, as the explanation gives them (src/identity/mapping.ts mapGroupsRule). */
  teamRules: readonly TeamRule[];
  /** The profile's UserGroupMapping keys, in order (the organisation rule). */
  mappingOrder: readonly string[];
  groups: readonly string[] | undefined;
  email: string;
  first: string;
  last: string;
  /** `<user id>@<provider>.com`, the portal's SSO key (src/actions/portal-sso.ts). */
  ssoKey: string;
  provider: string;
}

export type ReconcileOutcome =
  | { kind: 'created' | 'updated' | 'unchanged'; accountId: number; membership: DesiredMembership; changes: FieldChange[] }
  | { kind: 'refused'; reason: string; membership?: DesiredMembership };

/** Team references of the rules, as parsed (validation already refused any that do not parse). */
export function teamRefs(rules: readonly TeamRule[]): TeamRef[] {
  return rules.map((r) => {
    const ref = parseTeamRef(r.team);
    return 'problem' in ref ? { kind: 'id' as const, raw: r.team } : ref;
  });
}

/** Only API consumers' accounts are the broker's to manage: never an admin's. */
export const isConsumer = (a: PortalAccount) => a.Role === '' || (PORTAL_ROLES as readonly string[]).includes(a.Role);
export const notConsumer = (a: PortalAccount) => `the portal account with this email has the role ${JSON.stringify(a.Role)} (not an API consumer's): the broker does not manage it`;
export const stateOf = (a: PortalAccount): AccountState => ({ Email: a.Email, First: a.First, Last: a.Last, Active: a.Active, OrganisationID: a.OrganisationID, Role: a.Role, Teams: a.Teams });
/** The "before" of an account about to be created. */
export const NO_ACCOUNT: AccountState = { Email: '', First: '', Last: '', Active: false, OrganisationID: 0, Role: '', Teams: [] };

/** The first user with this email (case-insensitive), read in full; GET only. The admin API has no email filter. */
export async function findByEmail(api: PortalApi, email: string): Promise<PortalAccount | undefined> {
  const wanted = email.toLowerCase();
  const users = await api.listUsers((page) => page.some((u) => u.Email.toLowerCase() === wanted));
  const hit = users.find((u) => u.Email.toLowerCase() === wanted);
  return hit ? api.getUser(hit.ID) : undefined;
}

/**
 * The person's account: by the kept link (if it still exists), else the first user with their email (none for
 * no email). The login's lookup, and a SCIM push's (src/sync/engine.ts reconcilePeople, deprovisionPerson).
 */
export async function findAccount(t: PortalTarget, links: PortalLinks, input: Pick<ReconcileInput, 'ssoKey' | 'email'>, log: Logger): Promise<PortalAccount | undefined> {
  const linked = await links.get(t.portal, input.ssoKey).catch((err: unknown) => {
    log.debug('portal link not readable: looking the account up by email', { reason: String(err) });
    return undefined;
  });
  if (linked !== undefined) {
    const a = await t.api.getUser(linked);
    if (a) return a;
    await links.forget(t.portal, input.ssoKey).catch(() => undefined);
  }
  return input.email === '' ? undefined : findByEmail(t.api, input.email);
}

/**
 * A new account as `desired` says, its ID. Created inactive and activated with its teams in one PUT: a create the
 * portal finishes after the broker gave up (a timeout) is an account the portal does not log in, completed by
 * the next login or sync. If the PUT fails the account is deleted again: nothing half written.
 */
export async function createAccount(api: PortalApi, desired: AccountState, provider: string, log: Logger): Promise<number> {
  const created = await api.createUser({ Email: desired.Email, First: desired.First, Last: desired.Last, Active: false, OrganisationID: desired.OrganisationID, Role: desired.Role, Provider: provider });
  try {
    await api.updateUser(created.ID, { Active: true, OrganisationID: desired.OrganisationID, Teams: desired.Teams.map(String) });
  } catch (err) {
    await api.deleteUser(created.ID).catch((e: unknown) => log.warn('a portal account created for a failed login could not be deleted again', { account: created.ID, reason: String(e) }));
    throw err;
  }
  return created.ID;
}

/** The User-update body for these changes: only what differs, with the organisation and teams always together. */
export function updateBody(changes: readonly FieldChange[], desired: AccountState): PortalUserWrite {
  const body: PortalUserWrite = {};
  for (const c of changes) {
    if (c.field === 'Teams' || c.field === 'OrganisationID') {
      body.OrganisationID = desired.OrganisationID;
      body.Teams = desired.Teams.map(String);
    } else Object.assign(body, { [c.field]: desired[c.field] });
  }
  return body;
}

export async function reconcileAccount(t: PortalTarget, links: PortalLinks, input: ReconcileInput, log: Logger): Promise<ReconcileOutcome> {
  const resolved = await t.directory.resolve(teamRefs(input.teamRules));
  const wanted = desiredMembership(input.membership, input.teamRules, resolved, input.mappingOrder, input.groups);
  if (!wanted.ok) return { kind: 'refused', reason: wanted.reason };
  const membership = wanted.value;
  const person = { email: input.email, first: input.first, last: input.last };

  const current = await findAccount(t, links, input, log);
  if (current) return reconcileExisting(t, links, current, membership, person, input, log);
  if (input.membership.RegisteredOnly) return { kind: 'refused', membership, reason: 'the developer has no portal account (by SSO key or email) and Membership.RegisteredOnly is true' };

  const desired = desiredAccount(undefined, membership, person);
  let created: number;
  try {
    created = await createAccount(t.api, desired, input.provider, log);
  } catch (err) {
    // Two first logins at once (two tabs, two replicas): the other one created it; reconcile that account.
    const other = err instanceof PortalApiError && err.status === 422 ? await findAccount(t, links, input, log) : undefined;
    if (!other) throw err;
    return reconcileExisting(t, links, other, membership, person, input, log);
  }
  await keepLink(t, links, input, created, log);
  return { kind: 'created', accountId: created, membership, changes: accountChanges(NO_ACCOUNT, desired) };
}

async function reconcileExisting(t: PortalTarget, links: PortalLinks, current: PortalAccount, membership: DesiredMembership, person: { email: string; first: string; last: string }, input: ReconcileInput, log: Logger): Promise<ReconcileOutcome> {
  if (!isConsumer(current)) return { kind: 'refused', membership, reason: notConsumer(current) };
  const before = stateOf(current);
  const desired = desiredAccount(before, membership, person);
  const changes = accountChanges(before, desired);
  if (changes.length > 0) await t.api.updateUser(current.ID, updateBody(changes, desired));
  await keepLink(t, links, input, current.ID, log);
  return { kind: changes.length > 0 ? 'updated' : 'unchanged', accountId: current.ID, membership, changes };
}

function keepLink(t: PortalTarget, links: PortalLinks, input: ReconcileInput, accountId: number, log: Logger): Promise<void> {
  return links.set(t.portal, input.ssoKey, accountId).catch((err: unknown) => {
    log.warn('the portal account link could not be kept: the next login looks the account up by email', { reason: String(err) });
  });
}
