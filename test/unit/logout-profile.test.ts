/**
 * A profile's logout keys (issue 21; src/profiles/logout-keys.ts): TykLogoutURL, LogoutRedirectURLs and
 * BackChannelLogout, read with clear errors, written after TIB's fields, and checked against what the
 * profile's provider offers (ProviderModule.logout).
 */
import { describe, expect, it } from '@jest/globals';
import { validateProfile } from '../../src/profiles/validate.js';
import { FIRST } from '../support/rules.js';

const oidc = {
  ID: 'oidc',
  OrgID: '0',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'SocialProvider',
  ReturnURL: 'https://dashboard.example.com/tap',
  ProviderConfig: { CallbackBaseURL: 'https://tib.example.com', UseProviders: [{ Name: 'openid-connect', Key: 'k', Secret: 's', DiscoverURL: 'https://idp.example.com/.well-known/openid-configuration' }] },
};
const github = { ...oidc, ID: 'gh', ProviderConfig: { CallbackBaseURL: 'https://tib.example.com', UseProviders: [{ Name: 'github', Key: 'k', Secret: 's' }] } };
const ldap = {
  ID: 'ldap',
  OrgID: '0',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'https://dashboard.example.com/tap',
  ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' },
};
const messages = (list: { field: string; message: string }[]) => list.map((p) => `${p.field}: ${p.message}`);

describe('logout keys', () => {
  it('are kept as set, after TIB\'s fields; absent, the profile stays TIB\'s', () => {
    const keys = { TykLogoutURL: 'https://dashboard.example.com/logout', LogoutRedirectURLs: ['https://dashboard.example.com/'], BackChannelLogout: true };
    const r = validateProfile({ ...oidc, ...keys }, FIRST);
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(Object.keys(r.profile ?? {}).slice(-4)).toEqual(['SSOOnlyForRegisteredUsers', 'TykLogoutURL', 'LogoutRedirectURLs', 'BackChannelLogout']);
    expect(r.profile).toMatchObject(keys);
    const bare = validateProfile(oidc, FIRST).profile ?? {};
    expect(Object.keys(bare)).not.toContain('TykLogoutURL');
    expect(Object.keys(bare)).not.toContain('LogoutRedirectURLs');
  });

  it('refuses what is not an absolute URL, credentials in a URL, fragments and wrong types, naming the field', () => {
    const p = (over: Record<string, unknown>) => messages(validateProfile({ ...oidc, ...over }, FIRST).problems);
    expect(p({ TykLogoutURL: '/logout' })).toEqual([expect.stringMatching(/^TykLogoutURL: must be an absolute http or https URL, got "\/logout"/)]);
    expect(p({ TykLogoutURL: 'javascript:alert(1)' })).toEqual([expect.stringMatching(/^TykLogoutURL: must be an absolute http or https URL/)]);
    expect(p({ LogoutRedirectURLs: ['https://ok.example.com/', 'https://user:pw@evil.example.com/'] })).toEqual([expect.stringMatching(/^LogoutRedirectURLs\[1\]: must not carry a user name or password/)]);
    expect(p({ LogoutRedirectURLs: ['https://ok.example.com/#x'] })).toEqual([expect.stringMatching(/^LogoutRedirectURLs\[0\]: must not have a fragment/)]);
    expect(p({ LogoutRedirectURLs: ['https://*.example.com/'] })).toEqual([expect.stringMatching(/^LogoutRedirectURLs\[0\]: must be an exact URL \(no "\*" wildcards\)/)]);
    expect(p({ LogoutRedirectURLs: 'https://ok.example.com/' })).toEqual(['LogoutRedirectURLs: must be an array of strings, got string']);
    expect(p({ BackChannelLogout: 'yes' })).toEqual(['BackChannelLogout: must be a boolean (true or false), got string']);
  });

  it('BackChannelLogout is for OpenID Connect profiles only', () => {
    expect(messages(validateProfile({ ...github, BackChannelLogout: true }, FIRST).problems)).toEqual([expect.stringMatching(/^BackChannelLogout: is for OpenID Connect profiles only/)]);
    expect(messages(validateProfile({ ...ldap, BackChannelLogout: true }, FIRST).problems)).toEqual([expect.stringMatching(/^BackChannelLogout: is for OpenID Connect profiles only/)]);
    expect(validateProfile({ ...ldap, BackChannelLogout: false }, FIRST).problems).toEqual([]);
  });

  it('on a provider without logout, the keys are ignored with a warning; a typo gets "did you mean"', () => {
    expect(messages(validateProfile({ ...github, TykLogoutURL: 'https://portal.example.com/auth/password/logout' }, FIRST).warnings)).toEqual([expect.stringMatching(/^TykLogoutURL: SocialProvider with this ProviderConfig has no logout/)]);
    expect(messages(validateProfile({ ...oidc, LogoutRedirectURL: ['https://x.example.com/'] }, FIRST).warnings)).toEqual([expect.stringMatching(/^LogoutRedirectURL: unknown key, ignored.*LogoutRedirectURLs/)]);
  });
});
