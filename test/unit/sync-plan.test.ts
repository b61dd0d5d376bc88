/**
 * The directory sync's plan (issue 20; src/sync/plan.ts): people matched by link or email, only what differs,
 * managed accounts deprovisioned as Deprovision says (delete only at the second missing run), admins and other
 * people's accounts never touched, and the safety brake.
 */
import { describe, expect, it } from '@jest/globals';
import type { PortalAccount } from '../../src/portal/api.js';
import type { PortalTeam } from '../../src/portal/directory.js';
import type { DesiredMembership } from '../../src/portal/membership.js';
import { planCounts, planSync, type PlanInput, type SyncPerson } from '../../src/sync/plan.js';

const DEVS: PortalTeam = { id: 11, name: 'Developers', organisationId: 1, organisationName: 'Acme' };
const QA: PortalTeam = { id: 12, name: 'Testers', organisationId: 1, organisationName: 'Acme' };
const membership = (...teams: PortalTeam[]): DesiredMembership => ({ teams, organisationId: 1, organisationName: 'Acme', role: { value: 'consumer-team-member', rule: 'DefaultRole' }, dropped: [] });
const person = (name: string, ...teams: PortalTeam[]): SyncPerson => ({ ssoKey: `${name}@ADProvider.com`, userId: name, email: `${name}@example.org`, first: name, last: 'X', membership: membership(...teams) });
const account = (id: number, name: string, over: Partial<PortalAccount> = {}): PortalAccount => ({
  ID: id, Email: `${name}@example.org`, First: name, Last: 'X', Active: true, OrganisationID: 1, Role: 'consumer-team-member', Provider: 'ADProvider', Teams: [DEVS.id], ...over,
});
const input = (over: Partial<PlanInput>): PlanInput => ({
  people: [], accounts: [], managed: new Map(), links: new Map(), settings: { Deprovision: 'deactivate', MaxDeprovisionPercent: 50 }, force: false, ...over,
});
const kinds = (p: ReturnType<typeof planSync>) => p.changes.map((c) => `${c.kind}:${'person' in c ? c.person.userId : c.accountId}`);

describe('planSync', () => {
  it('creates the missing, updates only what differs, leaves the matching alone', () => {
    const plan = planSync(input({
      people: [person('ann', DEVS), person('bob', DEVS, QA), person('cid', DEVS)],
      accounts: [account(2, 'bob'), account(3, 'cid')],
    }));
    expect(kinds(plan)).toEqual(['create:ann', 'update:bob', 'unchanged:cid']);
    const update = plan.changes[1];
    expect(update?.kind === 'update' && update.changes).toEqual([{ field: 'Teams', before: [11], after: [11, 12] }]);
    expect(planCounts(plan)).toMatchObject({ create: 1, update: 1, unchanged: 1, deactivate: 0 });
  });

  it('matches by the kept link before the email (an email changed at the IdP updates the account)', () => {
    const ann = { ...person('ann', DEVS), email: 'ann.new@example.org' };
    const plan = planSync(input({ people: [ann], accounts: [account(5, 'ann')], links: new Map([[ann.ssoKey, 5]]) }));
    expect(plan.changes).toMatchObject([{ kind: 'update', accountId: 5, changes: [{ field: 'Email', after: 'ann.new@example.org' }] }]);
  });

  it('never touches an account that is not an API consumer\'s, nor one it does not manage', () => {
    const plan = planSync(input({
      people: [person('root', DEVS)],
      accounts: [account(1, 'root', { Role: 'provider-admin', OrganisationID: 0, Teams: [] }), account(9, 'handmade')],
      managed: new Map([[1, 0]]),
    }));
    expect(kinds(plan)).toEqual(['skipped:root']);
  });

  it('deactivates a managed account whose person left; "none" keeps it; an inactive one is kept', () => {
    const base = { people: [person('bob', DEVS)], accounts: [account(2, 'bob'), account(3, 'gone'), account(4, 'off', { Active: false })], managed: new Map([[2, 0], [3, 0], [4, 1]]) };
    expect(kinds(planSync(input(base)))).toEqual(['unchanged:bob', 'deactivate:3', 'kept:4']);
    expect(kinds(planSync(input({ ...base, settings: { Deprovision: 'none', MaxDeprovisionPercent: 50 } })))).toEqual(['unchanged:bob', 'kept:3', 'kept:4']);
  });

  it('with Deprovision "delete": deactivated at the first missing run, deleted at the second', () => {
    const settings = { Deprovision: 'delete' as const, MaxDeprovisionPercent: 100 };
    const accounts = [account(3, 'gone')];
    const first = planSync(input({ accounts, managed: new Map([[3, 0]]), settings }));
    expect(first.changes).toEqual([{ kind: 'deactivate', accountId: 3, missing: 1 }]);
    const second = planSync(input({ accounts: [account(3, 'gone', { Active: false })], managed: new Map([[3, 1]]), settings }));
    expect(second.changes).toEqual([{ kind: 'delete', accountId: 3, missing: 2 }]);
  });

  it('the safety brake: past MaxDeprovisionPercent nothing is deprovisioned and the run says so; --force applies it', () => {
    const managed = new Map([[2, 0], [3, 0], [4, 0], [5, 0]]);
    const accounts = [account(2, 'a'), account(3, 'b'), account(4, 'c'), account(5, 'd')];
    // An emptied search: nobody in scope.
    const braked = planSync(input({ accounts, managed, settings: { Deprovision: 'deactivate', MaxDeprovisionPercent: 10 } }));
    expect({ changes: braked.changes, brake: braked.brake, held: braked.held.length }).toEqual({ changes: [], brake: { wanted: 4, managed: 4, limitPercent: 10 }, held: 4 });
    const forced = planSync(input({ accounts, managed, settings: { Deprovision: 'deactivate', MaxDeprovisionPercent: 10 }, force: true }));
    expect(planCounts(forced).deactivate).toBe(4);
    // At the limit exactly: applied (1 of 10 is 10 %).
    const ten = new Map(Array.from({ length: 10 }, (_, i) => [i + 1, 0] as [number, number]));
    const people = Array.from({ length: 9 }, (_, i) => person(`p${i + 1}`, DEVS));
    const tenAccounts = Array.from({ length: 10 }, (_, i) => account(i + 1, `p${i + 1}`));
    expect(planSync(input({ people, accounts: tenAccounts, managed: ten, settings: { Deprovision: 'deactivate', MaxDeprovisionPercent: 10 } })).brake).toBeUndefined();
  });

  it('a managed account already gone from the portal is simply forgotten', () => {
    expect(planSync(input({ managed: new Map([[77, 0]]) })).changes).toEqual([]);
  });
});
