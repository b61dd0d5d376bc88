import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { PROFILE_FIELDS } from '../../src/profiles/profile.js';
import { formatProblem, validateProfile, validateProfileList } from '../../src/profiles/validate.js';

const root = path.resolve(import.meta.dirname, '../..');
const readJson = (p: string): unknown => JSON.parse(fs.readFileSync(path.join(root, p), 'utf8'));

const ldap = {
  ID: 'ldap-dev',
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://portal.example.com/sso',
  ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,ou=people,dc=example,dc=org' },
};
const social = {
  ID: 'oidc',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'SocialProvider',
  ProviderConfig: {
    CallbackBaseURL: 'https://tib.example.com',
    UseProviders: [{ Name: 'openid-connect', Key: 'client', Secret: 'client-secret-value', DiscoverURL: 'https://idp.example.com/.well-known/openid-configuration' }],
  },
};

function messages(raw: unknown, file = 'profiles.json'): string[] {
  return validateProfileList(raw, file).problems.map(formatProblem);
}

describe('TIB samples validate unmodified', () => {
  for (const f of ['test/fixtures/tib/readme-profiles.json', 'test/fixtures/tib/readme-ldap-profiles.json', 'profiles/profiles.json']) {
    it(f, () => {
      const r = validateProfileList(readJson(f), path.basename(f));
      expect(r.problems.map(formatProblem)).toEqual([]);
      expect(r.profiles.length).toBeGreaterThan(0);
    });
  }
});

describe('decoding as TIB', () => {
  it('fills absent fields with zero values, in TIB order', () => {
    const { profile } = validateProfile(ldap);
    expect(Object.keys(profile ?? {})).toEqual(PROFILE_FIELDS);
    expect(profile).toMatchObject({ Name: '', IdentityHandlerConfig: null, UserGroupMapping: null, ProviderConstraints: { Domain: '', Group: '' }, SSOOnlyForRegisteredUsers: false });
  });

  it('matches top-level and ProviderConfig keys case-insensitively', () => {
    const { profile, problems } = validateProfile({ id: 'x', actiontype: 'GenerateOrLoginUserProfile', providername: 'ADProvider', providerconfig: { ldapserver: 'h', ldapport: '389', ldapuserdn: 'uid=*USERNAME*' } });
    expect(problems).toEqual([]);
    expect(profile?.ID).toBe('x');
  });

  it("accepts the portal SSO-profile schema's flat constraint fields", () => {
    const { profile } = validateProfile({ ...ldap, ProviderConstraintsDomain: 'example.com', ProviderConstraintsGroup: 'devs' });
    expect(profile?.ProviderConstraints).toEqual({ Domain: 'example.com', Group: 'devs' });
  });

  it('warns about unknown keys instead of dropping them silently', () => {
    const r = validateProfileList([{ ...ldap, ReturnUrl2: 'x', ProviderConfig: { ...ldap.ProviderConfig, LDAPServr: 'typo' } }]);
    expect(r.problems).toEqual([]);
    expect(r.warnings.map((w) => w.field)).toEqual(expect.arrayContaining(['ReturnUrl2', 'ProviderConfig.LDAPServr']));
  });
});

describe('errors name the file, the profile and the field', () => {
  it.each([
    [{ ...ldap, ProviderName: 'LDAPProvider' }, 'profiles.json: profile "ldap-dev" (#1): ProviderName: must be one of SocialProvider, ADProvider, ProxyProvider, SAMLProvider'],
    [{ ...ldap, ActionType: 'GenerateOAuthTokenForPassword' }, 'profiles.json: profile "ldap-dev" (#1): ActionType: must be one of'],
    [{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPPort: 389 } }, 'profiles.json: profile "ldap-dev" (#1): ProviderConfig.LDAPPort: must be a string, got number'],
    [{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPUseSSL: 'yes' } }, 'ProviderConfig.LDAPUseSSL: must be a boolean'],
    [{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPAttributes: 'mail' } }, 'ProviderConfig.LDAPAttributes: must be an array of strings'],
    [{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPAttributes: ['mail', 3] } }, 'ProviderConfig.LDAPAttributes[1]: must be a string, got number'],
    [{ ...ldap, ID: 'has space' }, 'profile "has space" (#1): ID: must not contain spaces'],
    [{ ...ldap, ID: '' }, 'profile #1: ID: is required'],
    [{ ...ldap, ReturnURL: '/relative/sso' }, 'ReturnURL: must be an absolute http or https URL'],
    [{ ...ldap, ReturnURL: 'javascript:alert(1)' }, 'ReturnURL: must be an absolute http or https URL'],
    [{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, FailureRedirect: 'ftp://x/y' } }, 'ProviderConfig.FailureRedirect: must be an absolute http or https URL'],
    [{ ...social, ProviderConfig: { ...social.ProviderConfig, CallbackBaseURL: 'tib.example.com' } }, 'ProviderConfig.CallbackBaseURL: must be an absolute http or https URL'],
    [{ ...social, ProviderConfig: { ...social.ProviderConfig, UseProviders: [{ Name: 'facebook', Key: 'k' }] } }, 'ProviderConfig.UseProviders[0].Name: must be one of'],
    [{ ...ldap, IdentityHandlerConfig: { DashboardCredential: 42 } }, 'IdentityHandlerConfig.DashboardCredential: must be a string, got number'],
    [{ ...ldap, IdentityHandlerConfig: { dashboardcredential: 'x' } }, 'IdentityHandlerConfig.dashboardcredential: keys are case-sensitive here: write DashboardCredential'],
    [{ ...ldap, IdentityHandlerConfig: { OAuth: { NoRedirect: 'no' } } }, 'IdentityHandlerConfig.OAuth.NoRedirect: must be a boolean'],
    [{ ...ldap, ActionType: 'GenerateOAuthTokenForClient', IdentityHandlerConfig: { OAuth: {} } }, 'IdentityHandlerConfig.OAuth.ClientId: is required for GenerateOAuthTokenForClient'],
    [{ ...ldap, ActionType: 'GenerateTemporaryAuthToken', IdentityHandlerConfig: { TokenAuth: { Expires: '1h' } } }, 'IdentityHandlerConfig.TokenAuth.Expires: must be a number'],
    [{ ...ldap, UserGroupMapping: { devs: 2 } }, 'UserGroupMapping: must be an object of string values'],
    [{ ...ldap, SSOOnlyForRegisteredUsers: 'true' }, 'SSOOnlyForRegisteredUsers: must be a boolean'],
    [{ ...ldap, ProviderConfig: [] }, 'ProviderConfig: must be an object, got array'],
  ])('%#', (raw, expected) => {
    expect(messages([raw]).join('\n')).toContain(expected);
  });

  it('reports duplicate IDs with both positions', () => {
    expect(messages([ldap, { ...ldap }])).toContain('profiles.json: profile "ldap-dev" (#2): ID: duplicate ID: profile #1 has the same ID');
  });

  it('refuses a file that is not an array', () => {
    expect(messages({ ID: 'x' })).toEqual(['profiles.json: the profiles file must be a JSON array of profiles']);
  });

  it('lists every problem of every profile, not just the first', () => {
    expect(messages([{ ...ldap, ProviderName: 'X' }, { ...social, ID: 'a b', ReturnURL: 'nope' }])).toHaveLength(3);
  });

  it('never quotes a secret of the wrong type', () => {
    const text = messages([{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPAdminPassword: 123456789 } }]).join('\n');
    expect(text).toContain('ProviderConfig.LDAPAdminPassword: must be a string, got number');
    expect(text).not.toContain('123456789');
  });
});
