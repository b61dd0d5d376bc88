import { describe, expect, it } from '@jest/globals';
import { FALLBACK_EMAIL, resolveDisplayName } from '../../src/identity/claims.js';
import { groupsToTeams, resolveEmail, resolveUserId } from '../support/identity.js';
import { checkConstraints, checkDomain, checkGroup } from '../../src/identity/constraints.js';
import type { Identity } from '../../src/identity/identity.js';

const identity = (over: Partial<Identity> = {}): Identity => ({ userId: 'u1', email: 'user@example.com', displayName: '', firstName: '', lastName: '', raw: {}, provider: 'ADProvider', ...over });

describe('group -> team mapping: every vector of TIB (tyk_handler_test.go)', () => {
  const mapping = { devs: 'devs-group', admins: 'admins-group', 'CN=tyk_admin,OU=Security Groups,OU=GenericOrg,DC=GenericOrg,DC=COM,DC=GEN': 'tyk-admin' };
  const adGroups = [
    'CN=Domain Users,CN=Users,DC=GenericOrg,DC=COM,DC=GEN',
    'CN=tyk_admin,OU=Security Groups,OU=GenericOrg,DC=GenericOrg,DC=COM,DC=GEN',
    'CN=Staff,OU=Groups,DC=GenericOrg,DC=COM,DC=GEN',
    'CN=VPN Users,OU=Groups,DC=GenericOrg,DC=COM,DC=GEN',
    'CN=All Staff,OU=Groups,DC=GenericOrg,DC=COM,DC=GEN',
  ];
  const p = (CustomUserGroupField: string, DefaultUserGroupID: string, UserGroupSeparator = '') => ({ CustomUserGroupField, DefaultUserGroupID, UserGroupSeparator, UserGroupMapping: mapping });
  it.each([
    ['no group field, no default', p('', ''), { groups: 'admins' }, []],
    ['no group field, a default', p('', 'default-group-id'), { groups: 'admins' }, ['default-group-id']],
    ['field missing, a default', p('groups', 'default-group-id'), {}, ['default-group-id']],
    ['field missing, no default', p('groups', ''), {}, []],
    ['one group', p('groups', ''), { groups: 'admins' }, ['admins-group']],
    ['space-separated (default separator)', p('groups', ''), { groups: 'devs admins' }, ['devs-group', 'admins-group']],
    ['comma-separated', p('groups', '', ','), { groups: 'devs,admins' }, ['devs-group', 'admins-group']],
    ['a match leaves the default out', p('groups', 'devs'), { groups: 'admins' }, ['admins-group']],
    ['AD DNs as an array, one mapped', p('memberOf', 'devs'), { memberOf: adGroups }, ['tyk-admin']],
  ])('%s', (_name, profile, raw, expected) => {
    expect(groupsToTeams(profile, raw)).toEqual({ ok: true, value: expected });
  });

  it('removes duplicates and keeps IdP order', () => {
    const profile = { CustomUserGroupField: 'g', DefaultUserGroupID: '', UserGroupSeparator: '', UserGroupMapping: { a: '2', b: '1', c: '2' } };
    expect(groupsToTeams(profile, { g: ['c', 'b', 'a', 'b'] })).toEqual({ ok: true, value: ['2', '1'] });
  });

  it('mapping keys are exact (case-sensitive, no trimming), as TIB', () => {
    const profile = { CustomUserGroupField: 'g', DefaultUserGroupID: 'd', UserGroupSeparator: ',', UserGroupMapping: { admins: '1' } };
    expect(groupsToTeams(profile, { g: 'Admins, admins' })).toEqual({ ok: true, value: ['d'] });
    expect(groupsToTeams(profile, { g: '' })).toEqual({ ok: true, value: ['d'] });
  });

  it('a non-string group is a clean failure (TIB panics)', () => {
    const profile = { CustomUserGroupField: 'g', DefaultUserGroupID: '', UserGroupSeparator: '', UserGroupMapping: {} };
    expect(groupsToTeams(profile, { g: ['a', 3] })).toEqual({ ok: false, reason: 'CustomUserGroupField "g" holds a number, expected strings' });
    expect(groupsToTeams(profile, { g: { a: 1 } }).ok).toBe(false);
  });
});

describe('claims (docs/tib-behaviour.md §5.9)', () => {
  it('email: CustomEmailField, then the provider email, then TIB fallback', () => {
    expect(resolveEmail({ CustomEmailField: 'upn' }, identity({ raw: { upn: 'u@corp.example' } }))).toEqual({ ok: true, value: 'u@corp.example' });
    expect(resolveEmail({ CustomEmailField: 'upn' }, identity())).toEqual({ ok: true, value: 'user@example.com' });
    expect(resolveEmail({ CustomEmailField: '' }, identity({ email: '' }))).toEqual({ ok: true, value: FALLBACK_EMAIL });
    expect(resolveEmail({ CustomEmailField: 'upn' }, identity({ raw: { upn: 42 } }))).toEqual({ ok: false, reason: 'CustomEmailField "upn" is a number, expected a string' });
  });

  it('email: a CustomEmailField claim that is missing, null or empty, with no provider email, fails naming the claim (never the shared fallback)', () => {
    const reason = 'CustomEmailField "upn": the identity provider sent no such claim (and no email)';
    for (const raw of [{}, { upn: null }, { upn: '' }]) {
      expect(resolveEmail({ CustomEmailField: 'upn' }, identity({ email: '', raw }))).toEqual({ ok: false, reason });
    }
  });

  it('user id: CustomUserIDField, else the provider id; wrong type fails', () => {
    expect(resolveUserId({ CustomUserIDField: 'user_id' }, identity({ raw: { user_id: '005x' } }))).toEqual({ ok: true, value: '005x' });
    expect(resolveUserId({ CustomUserIDField: '' }, identity())).toEqual({ ok: true, value: 'u1' });
    expect(resolveUserId({ CustomUserIDField: 'user_id' }, identity({ raw: { user_id: ['x'] } })).ok).toBe(false);
  });

  it('display name: First Last, First, Last, or the email', () => {
    expect(resolveDisplayName(identity({ firstName: 'Ada', lastName: 'Lovelace' }), 'e')).toBe('Ada Lovelace');
    expect(resolveDisplayName(identity({ firstName: 'Ada' }), 'e')).toBe('Ada');
    expect(resolveDisplayName(identity({ lastName: 'Lovelace' }), 'e')).toBe('Lovelace');
    expect(resolveDisplayName(identity(), 'e@x')).toBe('e@x');
  });
});

describe('constraints', () => {
  it.each([
    ['x@example.com', 'example.com', true],
    ['x@EXAMPLE.com', 'example.com', true],
    ['x@evil-example.com', 'example.com', false],
    ['x@eviltyk.io', 'tyk.io', false],
    ['x@dev.tyk.io', 'tyk.io', false],
    ['x@dev.tyk.io', '.tyk.io', true],
    ['x@tyk.io', '.tyk.io', true],
    ['x@evil.io', '.tyk.io', false],
    ['x@tyk.io@evil.io', 'tyk.io', false],
    ['no-at-sign', 'tyk.io', false],
    ['anything', '', true],
  ])('%s against domain %s -> %s', (email, domain, pass) => {
    expect(checkDomain(domain, email).ok).toBe(pass);
  });

  it('group: one group (a DN with its commas), case-insensitive', () => {
    expect(checkGroup('admins', ['devs', 'Admins']).ok).toBe(true);
    expect(checkGroup('cn=Admins,ou=groups,dc=example,dc=org', ['cn=admins,ou=groups,dc=example,dc=org']).ok).toBe(true);
    expect(checkGroup('cn=admins,ou=groups', ['cn=admins']).ok).toBe(false);
    expect(checkGroup('admins', ['devs']).ok).toBe(false);
    expect(checkGroup('admins', undefined).ok).toBe(false);
    expect(checkGroup('', undefined).ok).toBe(true);
  });

  it('both together', () => {
    expect(checkConstraints({ Domain: 'example.com', Group: 'devs' }, 'a@example.com', ['devs']).ok).toBe(true);
    expect(checkConstraints({ Domain: 'example.com', Group: 'devs' }, 'a@example.com', ['ops']).ok).toBe(false);
  });
});
