/**
 * One directory sync run (issue 20; docs/portal-membership.md): the people the profile's directory holds, through
 * the login's own rules (src/identity/explain.ts, src/portal/membership.ts), against the portal's accounts, as a
 * plan (src/sync/plan.ts) and, unless a dry run, applied with bounded concurrency and retries. A person whose
 * change fails is reported and left as it was (each change is one call, or a create that undoes itself); the
 * next run converges. Only what the plan names is written.
 */
import { explainIdentity } from '../identity/explain.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../log.js';
import type { PortalAccount } from '../portal/api.js';
import { PortalApiError } from '../portal/api.js';
import { desiredMembership } from '../portal/membership.js';
import { createAccount, findAccount, isConsumer, teamRefs, updateBody, type PortalTarget } from '../portal/reconcile.js';
import type { Profile } from '../profiles/profile.js';
import type { PortalLinks } from '../state/portal-links.js';
import type { ManagedAccounts } from '../state/portal-managed.js';
import { planCounts, planSync, type SyncChange, type SyncPerson, type SyncPlan } from './plan.js';

export interface SyncDeps {
  target: PortalTarget;
  links: PortalLinks;
  managed: ManagedAccounts;
  /** The profile's directory: every person its login could let in (src/providers/provider.ts Provider.people). */
  people(): Promise<Identity[]>;
  log: Logger;
  /** Before each write: false once this runner has lost its lock (src/sync/lock.ts), so a stale runner stops. */
  stillOwner?: () => Promise<boolean>;
}

export interface SyncOptions {
  dryRun: boolean;
  force: boolean;
  /** Writes in flight at once (default 4). */
  concurrency?: number;
}

export interface SyncReport {
  profile: string;
  dryRun: boolean;
  startedAt: string;
  seconds: number;
  /** People the directory listed, and those the profile's rules leave out (refused, no team). */
  listed: number;
  outOfScope: number;
  counts: ReturnType<typeof planCounts>;
  brake?: SyncPlan['brake'];
  /** The changes planned (dry run) or applied, each with its outcome. */
  changes: Array<{ kind: SyncChange['kind']; email?: string; account?: number; fields?: string[]; error?: string }>;
  errors: number;
}

const RETRIES = 3;
const retryable = (err: unknown) => err instanceof PortalApiError && (err.kind === 'timeout' || err.kind === 'unreachable' || err.status === 429 || (err.status ?? 0) >= 500);

async function withRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= RETRIES || !retryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
}

/** Runs `work` over `items`, at most `n` at once. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}

/** The people in scope: each identity through the login's explanation and membership rules. */
async function peopleInScope(profile: Profile, identities: readonly Identity[], t: PortalTarget): Promise<{ people: SyncPerson[]; outOfScope: number; left: Identity[] }> {
  const m = profile.Membership;
  if (!m) return { people: [], outOfScope: identities.length, left: [...identities] };
  const people: SyncPerson[] = [];
  const left: Identity[] = [];
  let outOfScope = 0;
  const mappingOrder = Object.keys(profile.UserGroupMapping ?? {});
  for (const identity of identities) {
    const x = explainIdentity(profile, identity);
    if (x.outcome !== 'allowed' || !x.userId) {
      outOfScope++;
      left.push(identity);
      continue;
    }
    const resolved = await t.directory.resolve(teamRefs(x.teams));
    const d = desiredMembership(m, x.teams, resolved, mappingOrder, x.groups?.value);
    if (!d.ok) {
      outOfScope++;
      left.push(identity);
      continue;
    }
    people.push({ ssoKey: `${x.userId.value}@${identity.provider}.com`, userId: x.userId.value, email: x.email.value, first: identity.firstName, last: identity.lastName, membership: d.value });
  }
  return { people, outOfScope, left };
}

export async function runSync(profile: Profile, deps: SyncDeps, opts: SyncOptions): Promise<SyncReport> {
  const started = Date.now();
  const settings = profile.Sync ?? { Source: 'ldap', IntervalSeconds: 0, Deprovision: 'deactivate', MaxDeprovisionPercent: 10 };
  const t = deps.target;
  const identities = await deps.people();
  const { people, outOfScope } = await peopleInScope(profile, identities, t);

  // The accounts the plan may touch: linked, same email, or managed. Only those are read in full (their teams).
  const summaries = await t.api.listUsers();
  const managed = await deps.managed.load(t.portal, profile.ID);
  const links = new Map<string, number>();
  // One round trip per person (the keys are hashes): several in flight, not one after another.
  await pool(people, 16, async (p) => {
    const id = await deps.links.get(t.portal, p.ssoKey).catch(() => undefined);
    if (id !== undefined) links.set(p.ssoKey, id);
  });
  const emails = new Set(people.map((p) => p.email.toLowerCase()));
  const wanted = new Set([...links.values(), ...managed.keys(), ...summaries.filter((s) => emails.has(s.Email.toLowerCase())).map((s) => s.ID)]);
  const existing = new Set(summaries.map((s) => s.ID));
  const accounts: PortalAccount[] = [];
  await pool([...wanted].filter((id) => existing.has(id)), 8, async (id) => {
    const a = await withRetry(() => t.api.getUser(id));
    if (a) accounts.push(a);
  });

  const plan = planSync({ people, accounts, managed, links, settings, force: opts.force });
  const report: SyncReport = {
    profile: profile.ID,
    dryRun: opts.dryRun,
    startedAt: new Date(started).toISOString(),
    seconds: 0,
    listed: identities.length,
    outOfScope,
    counts: planCounts(plan),
    ...(plan.brake && { brake: plan.brake }),
    changes: [],
    errors: 0,
  };
  const emailOf = new Map(accounts.map((a) => [a.ID, a.Email]));
  const describe = (c: SyncChange, error?: string) => ({
    kind: c.kind,
    // A leaver has no person any more: the account's own email names them for the operator.
    ...('person' in c ? { email: c.person.email } : emailOf.has(c.accountId) && { email: emailOf.get(c.accountId) }),
    ...('accountId' in c && { account: c.accountId }),
    ...('changes' in c && { fields: c.changes.map((f) => f.field) }),
    ...(error !== undefined && { error }),
  });
  if (plan.brake) {
    deps.log.error('directory sync: the safety brake held back every deprovision (more than MaxDeprovisionPercent of the managed accounts); check the directory and the filter, then run `identity-broker sync <profile> --force`', { profile: profile.ID, ...plan.brake });
  }
  const acting = plan.changes.filter((c) => c.kind !== 'unchanged' && c.kind !== 'kept');
  if (opts.dryRun) {
    report.changes = acting.map((c) => describe(c));
    report.seconds = (Date.now() - started) / 1000;
    return report;
  }

  // Apply: the managed set is rebuilt from what the run saw and did.
  const next = new Map<number, number>();
  for (const c of plan.changes) if (c.kind === 'kept' || c.kind === 'deactivate') next.set(c.accountId, c.missing);
  for (const c of plan.held) if (c.kind === 'deactivate' || c.kind === 'delete') next.set(c.accountId, c.missing);
  await pool(plan.changes, opts.concurrency ?? 4, async (c) => {
    try {
      if (c.kind !== 'unchanged' && c.kind !== 'kept' && c.kind !== 'skipped' && deps.stillOwner && !(await deps.stillOwner())) throw new Error('another replica holds the sync lock now: this run stops writing');
      switch (c.kind) {
        case 'create': {
          const id = await withRetry(() => createAccount(t.api, c.desired, profile.ProviderName, deps.log));
          next.set(id, 0);
          await deps.links.set(t.portal, c.person.ssoKey, id).catch(() => undefined);
          break;
        }
        case 'update':
          await withRetry(() => t.api.updateUser(c.accountId, updateBody(c.changes, c.desired)));
          next.set(c.accountId, 0);
          await deps.links.set(t.portal, c.person.ssoKey, c.accountId).catch(() => undefined);
          break;
        case 'unchanged':
          next.set(c.accountId, 0);
          await deps.links.set(t.portal, c.person.ssoKey, c.accountId).catch(() => undefined);
          return;
        case 'deactivate':
          await withRetry(() => t.api.updateUser(c.accountId, { Active: false }));
          break;
        case 'delete':
          await withRetry(() => t.api.deleteUser(c.accountId));
          next.delete(c.accountId);
          break;
        case 'skipped':
          // Nothing written, but reported as the dry run showed it.
          break;
        default:
          return;
      }
      report.changes.push(describe(c));
    } catch (err) {
      report.errors++;
      // A failed change leaves that person as they were; the account stays managed so the next run converges.
      if ('accountId' in c) next.set(c.accountId, 'missing' in c ? c.missing - 1 : 0);
      report.changes.push(describe(c, err instanceof Error ? err.message : String(err)));
    }
  });
  await deps.managed.save(t.portal, profile.ID, next);
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

/** What a targeted reconcile needs: a full run's deps without the lister (the people are given). */
export type PeopleDeps = Omit<SyncDeps, 'people' | 'stillOwner'>;

/** The account of a person as the login finds it (src/portal/reconcile.ts findAccount), retried as a run's calls are. */
const accountOf = (t: PortalTarget, deps: PeopleDeps, ssoKey: string, email: string): Promise<PortalAccount | undefined> =>
  withRetry(() => findAccount(t, deps.links, { ssoKey, email }, deps.log));

/**
 * Reconciles these people only (issue 20, item 5: a SCIM push): each in scope is created, updated or left as a
 * full run's plan would (src/sync/plan.ts planSync, one person at a time); each out of scope (their groups map to
 * no team, the login would refuse them) and each in `leaving` (SCIM `active: false`) is deactivated when the
 * profile manages their account and Deprovision is not "none". Nobody else is read or touched; the managed set
 * gains the accounts reconciled, and a scheduled run counts the deactivated ones missing as it would have.
 */
export async function reconcilePeople(profile: Profile, deps: PeopleDeps, identities: readonly Identity[], leaving: readonly Identity[] = []): Promise<SyncReport> {
  const started = Date.now();
  const settings = profile.Sync ?? { Source: 'ldap', IntervalSeconds: 0, Deprovision: 'deactivate', MaxDeprovisionPercent: 10 };
  const t = deps.target;
  const { people, outOfScope, left } = await peopleInScope(profile, identities, t);
  const changes: SyncReport['changes'] = [];
  let errors = 0;
  const counts = { create: 0, update: 0, unchanged: 0, skipped: 0, deactivate: 0, delete: 0, kept: 0 };
  for (const person of people) {
    let kind: SyncChange['kind'] = 'update';
    try {
      const account = await accountOf(t, deps, person.ssoKey, person.email);
      const links = new Map(account ? [[person.ssoKey, account.ID]] : []);
      const [c] = planSync({ people: [person], accounts: account ? [account] : [], managed: new Map(), links, settings, force: true }).changes;
      if (!c) continue;
      kind = c.kind;
      counts[c.kind]++;
      let id: number | undefined;
      if (c.kind === 'create') id = await withRetry(() => createAccount(t.api, c.desired, profile.ProviderName, deps.log));
      else if (c.kind === 'update') {
        await withRetry(() => t.api.updateUser(c.accountId, updateBody(c.changes, c.desired)));
        id = c.accountId;
      } else if (c.kind === 'unchanged') id = c.accountId;
      if (id !== undefined) {
        await deps.links.set(t.portal, person.ssoKey, id).catch(() => undefined);
        await deps.managed.add(t.portal, profile.ID, id);
      }
      if (c.kind !== 'unchanged') changes.push({ kind: c.kind, email: person.email, ...(id !== undefined && { account: id }), ...('changes' in c && { fields: c.changes.map((f) => f.field) }) });
    } catch (err) {
      errors++;
      changes.push({ kind, email: person.email, error: err instanceof Error ? err.message : String(err) });
    }
  }
  for (const identity of [...left, ...leaving]) {
    const r = await deprovisionPerson(profile, deps, identity, 'deactivate');
    if (r) {
      counts[r.kind === 'delete' ? 'delete' : 'deactivate']++;
      if (r.error !== undefined) errors++;
      changes.push(r);
    }
  }
  return { profile: profile.ID, dryRun: false, startedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000, listed: identities.length + leaving.length, outOfScope, counts, changes, errors };
}

/**
 * Deprovisions one person's account at once (a SCIM DELETE, `active: false`): only an API consumer's account this
 * profile manages; `how` is what the IdP asked ("delete" for a DELETE), bounded by Sync.Deprovision ("none"
 * leaves it, "deactivate" never deletes). Undefined when there is nothing to do.
 */
export async function deprovisionPerson(profile: Profile, deps: PeopleDeps, identity: Identity, how: 'deactivate' | 'delete'): Promise<SyncReport['changes'][number] | undefined> {
  const setting = profile.Sync?.Deprovision ?? 'deactivate';
  if (setting === 'none') return undefined;
  const t = deps.target;
  const x = explainIdentity(profile, identity);
  const userId = x.userId?.value ?? identity.userId;
  const ssoKey = `${userId}@${identity.provider}.com`;
  const email = x.email?.value || identity.email;
  try {
    const account = await accountOf(t, deps, ssoKey, email);
    if (!account || !isConsumer(account)) return undefined;
    const managed = await deps.managed.load(t.portal, profile.ID);
    if (!managed.has(account.ID)) return undefined;
    if (how === 'delete' && setting === 'delete') {
      await withRetry(() => t.api.deleteUser(account.ID));
      await deps.links.forget(t.portal, ssoKey).catch(() => undefined);
      return { kind: 'delete', email: account.Email, account: account.ID };
    }
    if (!account.Active) return undefined;
    await withRetry(() => t.api.updateUser(account.ID, { Active: false }));
    return { kind: 'deactivate', email: account.Email, account: account.ID };
  } catch (err) {
    return { kind: how, email, error: err instanceof Error ? err.message : String(err) };
  }
}
