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
    expect(messages(check({ Sync: { Source: 'ldpa' } }).problems)).toEqual([expect.stringMatching(/^Sync\.Source: must be "ldap" or "okta" or "scim", got "ldpa"/)]);
    expect(messages(check({ Sync: { IntervalSeconds: 5 } }).problems)).toEqual(['Sync.IntervalSeconds: must be 0 (on demand only) or 60 to 604800 seconds, got 5']);
    expect(messages(check({ Sync: { MaxDeprovisionPercent: 150 } }).problems)).toEqual(['Sync.MaxDeprovisionPercent: must be 0 to 100, got 150']);
    expect(messages(check({ Sync: { Deprovision: 'remove' } }).problems)).toEqual([expect.stringMatching(/^Sync\.Deprovision: must be "deactivate" or "delete" or "none", got "remove"/)]);
    expect(messages(check({ Sync: { Intervalseconds: 60, Forse: true } }).problems)).toEqual([expect.stringMatching(/^Sync\.Forse: is not a Sync key/)]);
  });

  it('Source "okta" needs its Okta block: an https org URL without a path, the client ID and the key file', () => {
    const okta = { OrgURL: 'https://example.okta.com/', ClientID: '0oa1', PrivateKeyFile: '/etc/tib/okta.pem', KeyID: 'k1', UserSearch: 'status eq "ACTIVE"', GroupFilter: 'profile.name sw "portal-"' };
    const r = check({ Sync: { Source: 'okta', Okta: okta } });
    expect(r.problems).toEqual([]);
    expect(r.profile?.Sync).toEqual({ Source: 'okta', IntervalSeconds: 1800, Deprovision: 'deactivate', MaxDeprovisionPercent: 10, Okta: { ...okta, OrgURL: 'https://example.okta.com' } });
    expect(messages(check({ Sync: { Source: 'okta' } }).problems)).toEqual([
      expect.stringMatching(/^Sync\.Okta: is required with Source "okta"/),
      'Sync.Okta.OrgURL: is required (an absolute http or https URL)',
      "Sync.Okta.ClientID: is required: the API Services app's client ID",
      expect.stringMatching(/^Sync\.Okta\.PrivateKeyFile: is required/),
    ]);
    expect(messages(check({ Sync: { Source: 'okta', Okta: { ...okta, OrgURL: 'http://example.okta.com' } } }).problems)).toEqual([expect.stringMatching(/^Sync\.Okta\.OrgURL: must be https/)]);
    expect(check({ Sync: { Source: 'okta', Okta: { ...okta, OrgURL: 'http://127.0.0.1:8080' } } }).problems).toEqual([]);
    expect(messages(check({ Sync: { Source: 'okta', Okta: { ...okta, OrgURL: 'https://example.okta.com/oauth2/default' } } }).problems)).toEqual([expect.stringMatching(/^Sync\.Okta\.OrgURL: must be the org's base URL/)]);
    expect(messages(check({ Sync: { Source: 'okta', Okta: { ...okta, ClientId: 'x' } } }).problems)).toEqual([expect.stringMatching(/^Sync\.Okta\.ClientId: is not a key of Sync\.Okta .*did you mean ClientID\?/)]);
    expect(messages(check({ Sync: { Okta: okta } }).problems)).toEqual(['Sync.Okta: is read only with Source "okta" (Source is "ldap")']);
  });

  it('Source "scim" needs SCIM.TokenFile', () => {
    expect(check({ Sync: { Source: 'scim', IntervalSeconds: 0, SCIM: { TokenFile: '/etc/tib/scim.token' } } }).profile?.Sync).toEqual({ Source: 'scim', IntervalSeconds: 0, Deprovision: 'deactivate', MaxDeprovisionPercent: 10, SCIM: { TokenFile: '/etc/tib/scim.token' } });
    expect(messages(check({ Sync: { Source: 'scim', SCIM: {} } }).problems)).toEqual([expect.stringMatching(/^Sync\.SCIM\.TokenFile: is required/)]);
    expect(messages(check({ Sync: { Source: 'scim' } }).problems)).toEqual([expect.stringMatching(/^Sync\.SCIM: is required with Source "scim"/), expect.stringMatching(/^Sync\.SCIM\.TokenFile: is required/)]);
  });

  it('needs "idp" membership on a developer profile', () => {
    expect(messages(check({ Sync: {}, Membership: { Authority: 'portal' } }).problems)).toEqual(['Sync: needs GenerateOrLoginDeveloperProfile with Membership.Authority "idp": a sync applies the login\'s membership rules']);
    expect(check({ Sync: { IntervalSeconds: 0 } }).profile?.Sync?.IntervalSeconds).toBe(0);
  });
});
