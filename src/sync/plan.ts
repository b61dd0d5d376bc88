/**
 * A directory sync's plan (issue 20; docs/portal-membership.md): from the people in scope (each with the account
 * state the login's own rules give them, src/portal/membership.ts) and the portal's accounts, what to create,
 * update, deactivate or delete. Pure: a dry run prints exactly the plan a run applies.
 *
 * Only accounts the broker manages are ever deactivated or deleted: those it created or reconciled for this
 * profile (kept by the broker, src/state/portal-managed.ts). An admin, a password user or another profile's
 * people are never touched. A person matched to an account that is not an API consumer's is skipped.
 */
import type { PortalAccount } from '../portal/api.js';
import type { AccountState, DesiredMembership, FieldChange } from '../portal/membership.js';
import { accountChanges, desiredAccount } from '../portal/membership.js';
import { isConsumer, NO_ACCOUNT, stateOf } from '../portal/reconcile.js';

export interface SyncSettings {
  Deprovision: 'deactivate' | 'delete' | 'none';
  MaxDeprovisionPercent: number;
}

/** One person in scope, as the login's rules see them. */
export interface SyncPerson {
  /** The portal SSO key (`<user id>@<provider>.com`). */
  ssoKey: string;
  userId: string;
  email: string;
  first: string;
  last: string;
  membership: DesiredMembership;
}

export type SyncChange =
  | { kind: 'create'; person: SyncPerson; desired: AccountState; changes: FieldChange[] }
  | { kind: 'update'; person: SyncPerson; accountId: number; desired: AccountState; changes: FieldChange[] }
  | { kind: 'unchanged'; person: SyncPerson; accountId: number }
  | { kind: 'skipped'; person: SyncPerson; accountId: number; reason: string }
  /** A managed account no person in scope matches: Active false (reversible). */
  | { kind: 'deactivate'; accountId: number; missing: number }
  /** Missing for a second consecutive run with Deprovision "delete": the portal deletes it and its apps. */
  | { kind: 'delete'; accountId: number; missing: number }
  /** Missing, but Deprovision is "none", or it is already inactive and not yet to be deleted. */
  | { kind: 'kept'; accountId: number; missing: number };

export interface SyncPlan {
  changes: SyncChange[];
  /** Set when the deprovisions were held back by the safety brake; they are in `held`, not in `changes`. */
  brake?: { wanted: number; managed: number; limitPercent: number };
  held: SyncChange[];
}

export interface PlanInput {
  people: readonly SyncPerson[];
  /** Every account of the portal, with its teams (User-show). */
  accounts: readonly PortalAccount[];
  /** The accounts this profile manages, with how many consecutive runs each has been missing. */
  managed: ReadonlyMap<number, number>;
  /** SSO key -> account, as the broker kept them. */
  links: ReadonlyMap<string, number>;
  settings: SyncSettings;
  /** `--force`: apply deprovisions past the brake. */
  force: boolean;
}

export function planSync(input: PlanInput): SyncPlan {
  const byId = new Map(input.accounts.map((a) => [a.ID, a]));
  const byEmail = new Map<string, PortalAccount>();
  for (const a of input.accounts) if (!byEmail.has(a.Email.toLowerCase())) byEmail.set(a.Email.toLowerCase(), a);
  const matched = new Set<number>();
  const changes: SyncChange[] = [];

  for (const person of input.people) {
    const linked = input.links.get(person.ssoKey);
    const account = (linked !== undefined ? byId.get(linked) : undefined) ?? byEmail.get(person.email.toLowerCase());
    const wanted = { email: person.email, first: person.first, last: person.last };
    if (!account) {
      const desired = desiredAccount(undefined, person.membership, wanted);
      changes.push({ kind: 'create', person, desired, changes: accountChanges(NO_ACCOUNT, desired) });
      continue;
    }
    matched.add(account.ID);
    if (!isConsumer(account)) {
      changes.push({ kind: 'skipped', person, accountId: account.ID, reason: `role ${JSON.stringify(account.Role)} is not an API consumer's` });
      continue;
    }
    const before = stateOf(account);
    const desired = desiredAccount(before, person.membership, wanted);
    const diff = accountChanges(before, desired);
    changes.push(diff.length > 0 ? { kind: 'update', person, accountId: account.ID, desired, changes: diff } : { kind: 'unchanged', person, accountId: account.ID });
  }

  const gone: SyncChange[] = [];
  for (const [id, missing] of input.managed) {
    if (matched.has(id)) continue;
    const account = byId.get(id);
    if (!account) continue; // deleted in the portal meanwhile: nothing to do, forgotten by the run
    const runs = missing + 1;
    const { Deprovision } = input.settings;
    if (Deprovision === 'delete' && runs >= 2) gone.push({ kind: 'delete', accountId: id, missing: runs });
    else if (Deprovision !== 'none' && account.Active) gone.push({ kind: 'deactivate', accountId: id, missing: runs });
    else gone.push({ kind: 'kept', accountId: id, missing: runs });
  }

  // The safety brake: an emptied search or a wrong filter must not switch everyone off.
  const wanted = gone.filter((c) => c.kind === 'deactivate' || c.kind === 'delete').length;
  const managed = input.managed.size;
  const limit = input.settings.MaxDeprovisionPercent;
  if (!input.force && wanted > 0 && wanted * 100 > managed * limit) {
    const held = gone.filter((c) => c.kind === 'deactivate' || c.kind === 'delete');
    const kept = gone.filter((c) => c.kind === 'kept');
    return { changes: [...changes, ...kept], brake: { wanted, managed, limitPercent: limit }, held };
  }
  return { changes: [...changes, ...gone], held: [] };
}

/** Counts by kind, for the report, the audit event and the metrics. */
export function planCounts(plan: SyncPlan): Record<SyncChange['kind'], number> {
  const out = { create: 0, update: 0, unchanged: 0, skipped: 0, deactivate: 0, delete: 0, kept: 0 };
  for (const c of plan.changes) out[c.kind]++;
  return out;
}
