/**
 * Where each provider's logins start, as `npm start` prints them (src/main.ts startupLines): the provider
 * module says it (src/providers/module.ts loginSegments), so an LDAP profile prints `/ldap`, not a segment
 * guessed from its ProviderName.
 */
import { describe, expect, it } from '@jest/globals';
import { validateProfile } from '../../src/profiles/validate.js';
import { builtinProviders } from '../../src/providers/registry.js';
import { FIRST } from '../support/rules.js';

const base = { OrgID: 'org-1', ActionType: 'GenerateOrLoginUserProfile', ReturnURL: 'http://127.0.0.1:1/tap' };

function profile(raw: Record<string, unknown>) {
  const { profile: p, problems } = validateProfile({ ...base, ...raw }, FIRST);
  expect(problems).toEqual([]);
  return p!;
}

describe('login segments', () => {
  it('LDAP logins start at /ldap', () => {
    const p = profile({ ID: 'ldap', ProviderName: 'ADProvider', ProviderConfig: { LDAPServer: '127.0.0.1', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' } });
    expect(builtinProviders.loginSegments(p)).toEqual(['ldap']);
  });

  it('social logins start at each UseProviders entry', () => {
    const p = profile({
      ID: 'social',
      ProviderName: 'SocialProvider',
      ProviderConfig: { CallbackBaseURL: 'http://127.0.0.1:1', UseProviders: [{ Name: 'github', Key: 'k', Secret: 's' }, { Name: 'bitbucket', Key: 'k', Secret: 's' }] },
    });
    expect(builtinProviders.loginSegments(p)).toEqual(['github', 'bitbucket']);
  });

  it('the proxy provider, by default, at its name without "Provider"', () => {
    const p = profile({ ID: 'proxy', ProviderName: 'ProxyProvider', ProviderConfig: { TargetHost: 'http://127.0.0.1:1/login', ExtractUserNameFromBasicAuthHeader: true, OKCode: 200 } });
    expect(builtinProviders.loginSegments(p)).toEqual(['proxy']);
  });
});
