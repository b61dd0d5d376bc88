/**
 * The pure parts of "idp" membership (docs/portal-membership.md): the role (src/identity/membership.ts
 * chooseRole), the membership a person should have (src/portal/membership.ts desiredMembership) and how an
 * account differs from it (accountChanges). The portal itself is tested in test/integration/portal/.
 */
import { describe, expect, it } from '@jest/globals';
import type { TeamRule } from '../../src/identity/mapping.js';
import { chooseRole, membershipStep } from '../../src/identity/membership.js';
import type { PortalTeam, Resolution } from '../../src/portal/directory.js';
import { accountChanges, desiredAccount, desiredMembership, type AccountState } from '../../src/portal/membership.js';
import type { Membership } from '../../src/profiles/profile.js';

const M: Membership = { Authority: 'idp', Teams: 'all', RegisteredOnly: false, DefaultRole: 'consumer-team-member', RoleMapping: {}, OnPortalError: 'fail' };
const DEVELOPERS: PortalTeam = { id: 11, name: 'Developers', organisationId: 1, organisationName: 'Acme' };
const TESTERS: PortalTeam = { id: 12, name: 'Testers', organisationId: 1, organisationName: 'Acme' };
const PARTNERS: PortalTeam = { id: 21, name: 'Partners', organisationId: 2, organisationName: 'Globex' };

const rule = (team: string, ...groups: string[]): TeamRule => ({ team, groups, rule: groups.length ? `UserGroupMapping: ${groups.join(', ')}` : 'DefaultUserGroupID' });
const found = (team: PortalTeam): Resolution => ({ team });

describe('chooseRole', () => {
  it('the first RoleMapping entry in the profile\'s order that the person has, whatever the IdP\'s order', () => {
    const groups = ['devs', 'admins'];
    expect(chooseRole({ DefaultRole: 'consumer-team-member', RoleMapping: { admins: 'consumer-admin', devs: 'consumer-team-member' } }, groups)).toEqual({ value: 'consumer-admin', rule: 'RoleMapping: IdP group "admins"' });
    expect(chooseRole({ DefaultRole: 'consumer-admin', RoleMapping: { devs: 'consumer-team-member', admins: 'consumer-admin' } }, groups)).toEqual({ value: 'consumer-team-member', rule: 'RoleMapping: IdP group "devs"' });
  });

  it('DefaultRole when no group is in RoleMapping, or the IdP gives no groups', () => {
    const m = { DefaultRole: 'consumer-admin' as const, RoleMapping: { admins: 'consumer-admin' as const } };
    expect(chooseRole(m, ['devs'])).toEqual({ value: 'consumer-admin', rule: 'DefaultRole (no IdP group is in RoleMapping)' });
    expect(chooseRole({ ...m, DefaultRole: 'consumer-team-member' }, undefined).value).toBe('consumer-team-member');
  });

  it('group names are matched exactly (no case folding)', () => {
    expect(chooseRole({ DefaultRole: 'consumer-team-member', RoleMapping: { Admins: 'consumer-admin' } }, ['admins']).value).toBe('consumer-team-member');
  });
});

describe('membershipStep (the explanation, before the portal is asked)', () => {
  it('refuses a person without a team, and counts only the first team with Teams "first"', () => {
    expect(membershipStep(M, [], ['x'])).toEqual({ ok: false, reason: expect.stringContaining('no IdP group maps to a portal team') });
    const two = [rule('Acme/Developers', 'devs'), rule('Acme/Testers', 'qa')];
    expect(membershipStep(M, two, ['devs', 'qa'])).toMatchObject({ ok: true, value: { teams: ['Acme/Developers', 'Acme/Testers'] } });
    expect(membershipStep({ ...M, Teams: 'first' }, two, ['devs', 'qa'])).toMatchObject({ ok: true, value: { teams: ['Acme/Developers'] } });
  });
});

describe('desiredMembership', () => {
  const two = [rule('Acme/Developers', 'devs'), rule('12', 'qa')];

  it('Teams "all": every mapped team, their organisation, the role', () => {
    const r = desiredMembership({ ...M, RoleMapping: { qa: 'consumer-admin' } }, two, [found(DEVELOPERS), found(TESTERS)], ['devs', 'qa'], ['devs', 'qa']);
    expect(r).toEqual({ ok: true, value: { teams: [DEVELOPERS, TESTERS], organisationId: 1, organisationName: 'Acme', role: { value: 'consumer-admin', rule: 'RoleMapping: IdP group "qa"' }, dropped: [] } });
  });

  it('Teams "first": only the first team must resolve; an unknown later one is dropped, not a refusal', () => {
    const r = desiredMembership({ ...M, Teams: 'first' }, two, [found(DEVELOPERS), { problem: 'no team has ID 12' }], ['devs', 'qa'], ['devs', 'qa']);
    expect(r).toMatchObject({ ok: true, value: { teams: [DEVELOPERS], dropped: [{ ref: '12' }] } });
    expect(desiredMembership({ ...M, Teams: 'all' }, two, [found(DEVELOPERS), { problem: 'no team has ID 12' }], ['devs', 'qa'], ['devs', 'qa'])).toMatchObject({ ok: false });
  });

  it('Teams "first": the first mapped team (TIB\'s rule), the others named as dropped', () => {
    const r = desiredMembership({ ...M, Teams: 'first' }, two, [found(DEVELOPERS), found(TESTERS)], ['devs', 'qa'], ['devs', 'qa']);
    expect(r).toMatchObject({ ok: true, value: { teams: [DEVELOPERS], organisationId: 1, dropped: [{ ref: '12', why: 'Membership.Teams is "first"' }] } });
  });

  it('teams of several organisations: the organisation of the earliest UserGroupMapping entry wins, the others\' teams are dropped and named', () => {
    // The IdP lists devs first; the profile's mapping lists partners first.
    const rules = [rule('Acme/Developers', 'devs'), rule('Globex/Partners', 'partners'), rule('Acme/Testers', 'qa')];
    const resolved = [found(DEVELOPERS), found(PARTNERS), found(TESTERS)];
    const globex = desiredMembership(M, rules, resolved, ['partners', 'devs', 'qa'], ['devs', 'partners', 'qa']);
    expect(globex).toMatchObject({ ok: true, value: { teams: [PARTNERS], organisationId: 2, organisationName: 'Globex' } });
    expect(globex.ok && globex.value.dropped).toEqual([
      { ref: 'Acme/Developers', why: 'in organisation "Acme", not "Globex" (chosen by UserGroupMapping order)' },
      { ref: 'Acme/Testers', why: 'in organisation "Acme", not "Globex" (chosen by UserGroupMapping order)' },
    ]);
    const acme = desiredMembership(M, rules, resolved, ['qa', 'partners', 'devs'], ['devs', 'partners', 'qa']);
    expect(acme).toMatchObject({ ok: true, value: { teams: [DEVELOPERS, TESTERS], organisationId: 1, dropped: [{ ref: 'Globex/Partners' }] } });
  });

  it('DefaultUserGroupID counts after every mapped group when the organisation is chosen', () => {
    const rules = [rule('Globex/Partners'), rule('Acme/Developers', 'devs')];
    const r = desiredMembership(M, rules, [found(PARTNERS), found(DEVELOPERS)], ['devs'], ['devs']);
    expect(r).toMatchObject({ ok: true, value: { teams: [DEVELOPERS], organisationId: 1, dropped: [{ ref: 'Globex/Partners' }] } });
  });

  it('two references to the same team (an ID and a name) give it once', () => {
    const r = desiredMembership(M, [rule('11', 'a'), rule('Acme/Developers', 'b')], [found(DEVELOPERS), found(DEVELOPERS)], ['a', 'b'], ['a', 'b']);
    expect(r).toMatchObject({ ok: true, value: { teams: [DEVELOPERS], dropped: [] } });
  });

  it('no team at all is a refusal: an account without a team has no organisation', () => {
    expect(desiredMembership(M, [], [], ['devs'], ['others'])).toEqual({ ok: false, reason: expect.stringMatching(/no IdP group maps to a portal team and the profile has no DefaultUserGroupID/) });
  });

  it('an unresolvable reference is a refusal naming it, its rule and why', () => {
    const r = desiredMembership(M, two, [found(DEVELOPERS), { problem: 'no team has ID 12' }], ['devs', 'qa'], ['devs', 'qa']);
    expect(r).toEqual({ ok: false, reason: 'team "12" (UserGroupMapping: qa): no team has ID 12' });
  });
});

describe('desiredAccount and accountChanges', () => {
  const current: AccountState = { Email: 'Bob@Example.org', First: 'Bob', Last: 'Builder', Active: true, OrganisationID: 1, Role: 'consumer-team-member', Teams: [12, 11] };
  const membership = { teams: [DEVELOPERS, TESTERS], organisationId: 1, organisationName: 'Acme', role: { value: 'consumer-team-member' as const, rule: 'DefaultRole' }, dropped: [] };

  it('nothing differs: teams compared as sets, the email case-insensitively (as the portal matches it)', () => {
    const desired = desiredAccount(current, membership, { email: 'bob@example.org', first: 'Bob', last: 'Builder' });
    expect(desired.Teams).toEqual([11, 12]);
    expect(accountChanges(current, desired)).toEqual([]);
  });

  it('an IdP without names leaves the portal\'s; a new account gets empty ones', () => {
    expect(desiredAccount(current, membership, { email: 'bob@example.org', first: '', last: '' })).toMatchObject({ First: 'Bob', Last: 'Builder' });
    expect(desiredAccount(undefined, membership, { email: 'bob@example.org', first: '', last: '' })).toMatchObject({ First: '', Last: '' });
  });

  it('each differing field once, with before and after, in a fixed order', () => {
    const desired: AccountState = { ...current, Email: 'robert@example.org', Active: true, Role: 'consumer-admin', Teams: [11], OrganisationID: 1 };
    const moved = { ...current, Active: false };
    expect(accountChanges(moved, desired)).toEqual([
      { field: 'Email', before: 'Bob@Example.org', after: 'robert@example.org' },
      { field: 'Active', before: false, after: true },
      { field: 'Role', before: 'consumer-team-member', after: 'consumer-admin' },
      { field: 'Teams', before: [12, 11], after: [11] },
    ]);
  });

  it('a team moved to another organisation changes both', () => {
    const desired: AccountState = { ...current, OrganisationID: 2, Teams: [21] };
    expect(accountChanges(current, desired).map((c) => c.field)).toEqual(['OrganisationID', 'Teams']);
  });
});
