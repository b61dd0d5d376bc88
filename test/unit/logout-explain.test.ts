/**
 * explain says whether a profile's logins can be ended at `/auth/{id}/logout` (src/login/explain.ts logoutView,
 * docs/logout.md): on only when the provider offers logout and the profile sets a logout key; else why not.
 */
import { describe, expect, it } from '@jest/globals';
import { formatExplanation } from '../../src/cli/explain.js';
import { explainClaims } from '../../src/login/explain.js';
import { validateProfile } from '../../src/profiles/validate.js';
import { builtinProviders } from '../../src/providers/registry.js';
import { FIRST } from '../support/rules.js';

const oidc = {
  ID: 'oidc',
  OrgID: '0',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'SocialProvider',
  ReturnURL: 'https://dashboard.example.com/tap',
  ProviderConfig: { CallbackBaseURL: 'https://tib.example.com', UseProviders: [{ Name: 'openid-connect', Key: 'k', Secret: 's', DiscoverURL: 'https://idp.example.com/.well-known/openid-configuration' }] },
};
const explain = (raw: Record<string, unknown>) => {
  const { profile } = validateProfile(raw, FIRST);
  if (!profile) throw new Error('invalid test profile');
  return explainClaims(builtinProviders, profile, { sub: 'alice', email: 'alice@example.com', email_verified: true });
};

describe('explain: logout', () => {
  it('on, with the route, when an OpenID Connect profile sets a logout key', () => {
    const x = explain({ ...oidc, LogoutRedirectURLs: ['https://dashboard.example.com/'], BackChannelLogout: true });
    expect(x.logout).toEqual({ on: true, rule: '/auth/oidc/logout and /backchannel-logout' });
    expect(formatExplanation(x)).toContain('  logout      on  <- /auth/oidc/logout and /backchannel-logout');
  });

  it('off without a logout key, or on a provider without logout, saying why', () => {
    expect(explain(oidc).logout).toEqual({ on: false, rule: 'none of TykLogoutURL, LogoutRedirectURLs, BackChannelLogout is set' });
    const github = { ...oidc, ProviderConfig: { CallbackBaseURL: 'https://tib.example.com', UseProviders: [{ Name: 'github', Key: 'k', Secret: 's' }] }, TykLogoutURL: 'https://dashboard.example.com/logout' };
    expect(explain(github).logout).toEqual({ on: false, rule: 'SocialProvider with this ProviderConfig offers no logout' });
  });
});
