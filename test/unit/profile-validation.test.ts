import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { PROFILE_FIELDS } from '../../src/profiles/profile.js';
import { hostAllowed, hostPatternProblem } from '../../src/config/allowed-hosts.js';
import type { Profile } from '../../src/profiles/profile.js';
import { formatProblem, MAX_DEPTH, validateProfile, validateProfileList } from '../../src/profiles/validate.js';
import { builtinProviders } from '../../src/providers/registry.js';
import { TIB_RULES, FIRST } from '../support/rules.js';

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
  return validateProfileList(raw, file, TIB_RULES).problems.map(formatProblem);
}

describe('TIB samples validate unmodified', () => {
  for (const f of ['test/fixtures/tib/readme-profiles.json', 'test/fixtures/tib/readme-ldap-profiles.json', 'profiles/profiles.json']) {
    it(f, () => {
      const r = validateProfileList(readJson(f), path.basename(f), TIB_RULES);
      expect(r.problems.map(formatProblem)).toEqual([]);
      expect(r.profiles.length).toBeGreaterThan(0);
    });
  }
});

describe('decoding as TIB', () => {
  it('fills absent fields with zero values, in TIB order', () => {
    const { profile } = validateProfile(ldap, FIRST);
    expect(Object.keys(profile ?? {})).toEqual(PROFILE_FIELDS);
    expect(profile).toMatchObject({ Name: '', IdentityHandlerConfig: null, UserGroupMapping: null, ProviderConstraints: { Domain: '', Group: '' }, SSOOnlyForRegisteredUsers: false });
  });

  it('matches top-level and ProviderConfig keys case-insensitively', () => {
    const { profile, problems } = validateProfile({ id: 'x', actiontype: 'GenerateOrLoginUserProfile', providername: 'ADProvider', providerconfig: { ldapserver: 'h', ldapport: '389', ldapuserdn: 'uid=*USERNAME*' } }, FIRST);
    expect(problems).toEqual([]);
    expect(profile?.ID).toBe('x');
  });

  it("accepts the portal SSO-profile schema's flat constraint fields", () => {
    const { profile } = validateProfile({ ...ldap, ProviderConstraintsDomain: 'example.com', ProviderConstraintsGroup: 'devs' }, FIRST);
    expect(profile?.ProviderConstraints).toEqual({ Domain: 'example.com', Group: 'devs' });
  });

  it('warns about unknown keys instead of dropping them silently', () => {
    const r = validateProfileList([{ ...ldap, ReturnUrl2: 'x', ProviderConfig: { ...ldap.ProviderConfig, LDAPServr: 'typo' } }], undefined, TIB_RULES);
    expect(r.problems).toEqual([]);
    expect(r.warnings.map((w) => w.field)).toEqual(expect.arrayContaining(['ReturnUrl2', 'ProviderConfig.LDAPServr']));
  });
});

describe('errors name the file, the profile and the field', () => {
  it.each([
    [{ ...ldap, ProviderName: 'LDAPProvider' }, 'profiles.json: profile "ldap-dev" (#1): ProviderName: must be one of SocialProvider, ADProvider, ProxyProvider, SAMLProvider'],
    [{ ...ldap, ActionType: 'GenerateOAuthTokenForPassword' }, 'profiles.json: profile "ldap-dev" (#1): ActionType: must be one of'],
    [{ ...ldap, ProviderName: 'SAMLprovder' }, 'ProviderName: must be one of SocialProvider, ADProvider, ProxyProvider, SAMLProvider (case-sensitive), got "SAMLprovder"; did you mean SAMLProvider?'],
    [{ ...ldap, ActionType: 'GenerateOrLoginDeveloperProfle' }, 'got "GenerateOrLoginDeveloperProfle"; did you mean GenerateOrLoginDeveloperProfile?'],
    [{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPPort: 389 } }, 'profiles.json: profile "ldap-dev" (#1): ProviderConfig.LDAPPort: must be a string, got number'],
    [{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPUseSSL: 'yes' } }, 'ProviderConfig.LDAPUseSSL: must be a boolean'],
    [{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPAttributes: 'mail' } }, 'ProviderConfig.LDAPAttributes: must be an array of strings'],
    [{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPAttributes: ['mail', 3] } }, 'ProviderConfig.LDAPAttributes[1]: must be a string, got number'],
    [{ ...ldap, ID: 'has space' }, 'profile "has space" (#1): ID: must be 1 to 128 letters, digits, ".", "_", "-" or "@" (no spaces'],
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

describe('profile IDs: a safe character set, no reserved names', () => {
  it.each(['ldap-dev', 'a', 'user@corp.example', 'v1.2_x-y', 'x'.repeat(128), '1', 'Save'])('accepts %j', (id) => {
    expect(validateProfile({ ...ldap, ID: id }, FIRST).problems).toEqual([]);
  });

  it.each([
    ['a quote, which would end the WWW-Authenticate realm', 'a"b'],
    ['a control character, which makes setting the header throw', 'a\u0001b'],
    ['a terminal escape', 'a\u001b[31mred'],
    ['a C1 control (CSI)', 'a\u009bb'],
    ['a space', 'a b'],
    ['a slash', 'a/b'],
    ['a backslash', 'a\\b'],
    ['a non-ASCII letter', 'café'],
    ['129 characters', 'x'.repeat(129)],
  ])('refuses %s, naming the field and the rule', (_what, id) => {
    const problems = validateProfile({ ...ldap, ID: id }, FIRST).problems;
    expect(problems.map((p) => [p.field, p.message])).toEqual([['ID', expect.stringContaining('must be 1 to 128 letters, digits, ".", "_", "-" or "@"')]]);
  });

  it('never echoes a control character or escape of a bad ID into a message', () => {
    const text = messages([{ ...ldap, ID: 'x\u001b[2J\u009b\u2028y' }]).join('\n');
    expect(text).toContain('ID: must be');
    expect([...text].filter((c) => c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f) || c === '\u2028')).toEqual([]);
    expect(text).toContain('\\u001b[2J');
  });

  it('reserves "save": POST /api/profiles/save saves the set to disk, so the API could never create it', () => {
    const [p] = validateProfile({ ...ldap, ID: 'save' }, FIRST).problems;
    expect(p).toMatchObject({ field: 'ID', message: expect.stringContaining('"save" is reserved: POST /api/profiles/save') });
  });

  // As a key of a plain object (the Redis store's hash, parsed) "__proto__" vanished: 201, then 404 everywhere.
  it.each(['__proto__', 'constructor', 'prototype'])('reserves %j, a property every JavaScript object has', (id) => {
    const [p] = validateProfile({ ...ldap, ID: id }, FIRST).problems;
    expect(p).toMatchObject({ field: 'ID', message: expect.stringContaining(`"${id}" is reserved: it names a property every JavaScript object has`) });
  });
});

describe('nesting depth: bounded, the path of the deep value named', () => {
  const nested = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

  it('refuses a value nested past the bound, naming the profile and field, without overflowing the stack', () => {
    const r = validateProfileList([{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, Extra: nested(100_000) } }], 'profiles.json', TIB_RULES);
    expect(r.problems.map(formatProblem)).toEqual([`profiles.json: profile "ldap-dev" (#1): ProviderConfig.Extra.a: is nested more than ${MAX_DEPTH} levels deep`]);
    // A length, not the value: printing a 100,000-level object in a failure message would never end.
    expect(r.profiles).toHaveLength(0);
  });

  it('accepts nesting up to the bound (an unknown key gets only a warning)', () => {
    // The profile is level 1, ProviderConfig level 2, Extra level 3.
    const r = validateProfileList([{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, Extra: nested(MAX_DEPTH - 2) } }], undefined, TIB_RULES);
    expect(r.problems).toEqual([]);
    const deeper = validateProfileList([{ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, Extra: nested(MAX_DEPTH - 1) } }], undefined, TIB_RULES);
    expect(deeper.problems.map((p) => p.message)).toEqual([expect.stringContaining('nested more than')]);
  });

  it('counts arrays as levels too', () => {
    const arrays = JSON.parse(`${'['.repeat(50_000)}${']'.repeat(50_000)}`) as unknown;
    const r = validateProfile({ ...ldap, UserGroupMapping: arrays }, FIRST);
    expect(r.problems.map((p) => p.field)).toEqual(['UserGroupMapping[0][0]']);
    expect(r.problems).toHaveLength(1);
  });
});

describe('AllowedIdPHosts: every host a profile names is checked', () => {
  const rules = { ...TIB_RULES, allowedHosts: ['ldap.example.com', '*.corp.example', '10.0.0.5', '::1'] };
  const saml = { ...ldap, ID: 'saml', ProviderName: 'SAMLProvider', ProviderConfig: { IDPMetadataURL: 'https://evil.example.net/md', CertLocation: '/x.pem', SAMLBaseURL: 'https://tib.example.com' } };
  const proxy = { ...ldap, ID: 'proxy', ProviderName: 'ProxyProvider', ProviderConfig: { TargetHost: 'http://169.254.169.254/latest', ExtractUserNameFromBasicAuthHeader: true } };
  const oidc = (extra: Record<string, string>) => ({
    ...social,
    ProviderConfig: { ...social.ProviderConfig, UseProviders: [{ ...social.ProviderConfig.UseProviders[0], DiscoverURL: 'https://idp.corp.example/.well-known/openid-configuration', ...extra }] },
  });
  const refused = (raw: unknown) => validateProfile(raw, { index: 0, rules }).problems.map((p) => `${p.field}: ${p.message}`);

  it('accepts listed hosts: exact, wildcard below a suffix, IP addresses, any case', () => {
    expect(refused({ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPServer: 'LDAP.example.com' } })).toEqual([]);
    expect(refused({ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPServer: '10.0.0.5' } })).toEqual([]);
    expect(refused({ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPServer: '::1' } })).toEqual([]);
    expect(refused(oidc({ TokenURL: 'https://a.b.corp.example/token' }))).toEqual([]);
    expect(refused({ ...proxy, ProviderConfig: { ...proxy.ProviderConfig, TargetHost: 'http://[::1]:8080/check' } })).toEqual([]);
  });

  it('refuses every other host, naming the field', () => {
    expect(refused({ ...ldap, ProviderConfig: { ...ldap.ProviderConfig, LDAPServer: '127.0.0.1' } })).toEqual(['ProviderConfig.LDAPServer: host "127.0.0.1" is not in AllowedIdPHosts (tib.conf)']);
    expect(refused(oidc({ DiscoverURL: 'https://corp.example/.well-known/openid-configuration' }))).toEqual([
      'ProviderConfig.UseProviders[0].DiscoverURL: host "corp.example" is not in AllowedIdPHosts (tib.conf)',
    ]);
    for (const k of ['AuthURL', 'TokenURL', 'ProfileURL', 'EmailURL']) {
      expect(refused(oidc({ [k]: 'https://corp.example.evil.net/x' }))).toEqual([`ProviderConfig.UseProviders[0].${k}: host "corp.example.evil.net" is not in AllowedIdPHosts (tib.conf)`]);
    }
    expect(refused(saml)).toEqual(['ProviderConfig.IDPMetadataURL: host "evil.example.net" is not in AllowedIdPHosts (tib.conf)']);
    expect(refused(proxy)).toEqual(['ProviderConfig.TargetHost: host "169.254.169.254" is not in AllowedIdPHosts (tib.conf)']);
  });

  it('an empty list allows any host, as TIB', () => {
    expect(validateProfile(proxy, { index: 0, rules: { ...TIB_RULES,  allowedHosts: [] } }).problems).toEqual([]);
    expect(validateProfile(saml, FIRST).problems).toEqual([]);
  });

  it('matching: a wildcard covers names below the suffix only, never a look-alike', () => {
    expect(hostAllowed('x.corp.example', ['*.corp.example'])).toBe(true);
    expect(hostAllowed('corp.example', ['*.corp.example'])).toBe(false);
    expect(hostAllowed('xcorp.example', ['*.corp.example'])).toBe(false);
    expect(hostAllowed('idp.example.com.', ['IDP.example.com'])).toBe(true);
  });

  it('entries must be host names, IP addresses or *.suffix wildcards', () => {
    for (const ok of ['idp.example.com', '*.corp.example', '10.0.0.5', '::1', '[::1]', 'localhost']) expect(hostPatternProblem(ok)).toBeUndefined();
    for (const bad of ['*', 'https://idp.example.com', 'idp.example.com:443', 'a.*.example', '*example.com', 'idp.example.com/path', '']) {
      expect(hostPatternProblem(bad)).toMatch(/is not a host name/);
    }
  });
});

describe('profileSecrets: only the fields known to be secrets (the action\'s and those the provider module names)', () => {
  const profileSecrets = (p: Profile) => builtinProviders.profileSecrets(p);
  it('names LDAPAdminPassword, UseProviders[].Secret, DashboardCredential and OAuth.Secret, whatever the key case', () => {
    const l = validateProfile({
      ...ldap,
      ProviderConfig: { ...ldap.ProviderConfig, ldapadminpassword: 'ldap-admin-pw', LDAPAdminUser: 'cn=admin', LDAPFilter: '(uid=*USERNAME*)' },
      IdentityHandlerConfig: { DashboardCredential: 'dash-cred', OAuth: { Secret: 'oauth-secret' } },
    }, FIRST).profile;
    expect(profileSecrets(l!).sort()).toEqual(['dash-cred', 'ldap-admin-pw', 'oauth-secret']);
    expect(profileSecrets(validateProfile(social, FIRST).profile!)).toEqual(['client-secret-value']);
  });

  it('ignores other values under keys that merely end in Key, Secret or Password', () => {
    const p = validateProfile({ ...social, ProviderConfig: { ...social.ProviderConfig, SomeKey: 'login', UseProviders: [{ ...social.ProviderConfig.UseProviders[0], Key: 'client-id' }] } }, FIRST).profile;
    expect(profileSecrets(p!)).toEqual(['client-secret-value']);
  });
});
