/**
 * A profile's `Sync` block (issue 20; src/profiles/portal-keys.ts): defaults, ranges, "did you mean", and only on
 * a developer profile in "idp" membership (a sync applies the login's rules).
 */
import { describe, expect, it } from '@jest/globals';
import { validateProfile } from '../../src/profiles/validate.js';
import { FIRST } from '../support/rules.js';

const base = {
  ID: 'sync-devs',
  OrgID: '0',
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://portal.example.com/sso',
  IdentityHandlerConfig: { DashboardCredential: 'portal-api-secret-value' },
  ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,ou=people,dc=example,dc=org' },
  CustomUserGroupField: 'memberOf',
  UserGroupMapping: { devs: '12' },
  Membership: { Authority: 'idp' },
};
const check = (over: Record<string, unknown>) => validateProfile({ ...base, ...over }, FIRST);
const messages = (list: { field: string; message: string }[]) => list.map((p) => `${p.field}: ${p.message}`);

describe('Sync', () => {
  it('defaults: the profile\'s directory every 30 minutes, deactivate, a 10 % brake; written after TIB\'s fields', () => {
    const r = check({ Sync: {} });
    expect(r.problems).toEqual([]);
    expect(r.profile?.Sync).toEqual({ Source: 'ldap', IntervalSeconds: 1800, Deprovision: 'deactivate', MaxDeprovisionPercent: 10 });
    expect(Object.keys(r.profile ?? {}).slice(-3)).toEqual(['SSOOnlyForRegisteredUsers', 'Membership', 'Sync']);
  });

  it('refuses what it cannot do, naming the field', () => {
    expect(messages(check({ Sync: { Source: 'okta' } }).problems)).toEqual(['Sync.Source: must be "ldap" (the profile\'s own directory), got "okta": not available in this version']);
    expect(messages(check({ Sync: { IntervalSeconds: 5 } }).problems)).toEqual(['Sync.IntervalSeconds: must be 0 (on demand only) or 60 to 604800 seconds, got 5']);
    expect(messages(check({ Sync: { MaxDeprovisionPercent: 150 } }).problems)).toEqual(['Sync.MaxDeprovisionPercent: must be 0 to 100, got 150']);
    expect(messages(check({ Sync: { Deprovision: 'remove' } }).problems)).toEqual([expect.stringMatching(/^Sync\.Deprovision: must be "deactivate" or "delete" or "none", got "remove"/)]);
    expect(messages(check({ Sync: { Intervalseconds: 60, Forse: true } }).problems)).toEqual([expect.stringMatching(/^Sync\.Forse: is not a Sync key/)]);
  });

  it('needs "idp" membership on a developer profile', () => {
    expect(messages(check({ Sync: {}, Membership: { Authority: 'portal' } }).problems)).toEqual(['Sync: needs GenerateOrLoginDeveloperProfile with Membership.Authority "idp": a sync applies the login\'s membership rules']);
    expect(check({ Sync: { IntervalSeconds: 0 } }).profile?.Sync?.IntervalSeconds).toBe(0);
  });
});
