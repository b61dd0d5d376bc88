/** SocialProvider as the broker knows it: OpenID Connect and social OAuth (docs/providers/oidc.md, social.md). */
import { claimsIdentity, urlHost, type ProviderModule } from '../module.js';
import { readSocialConfig, type SocialConfig } from './social-config.js';

export const socialModule: ProviderModule<SocialConfig> = {
  name: 'SocialProvider',
  readConfig: readSocialConfig,
  // openid-client and jose: imported when the first social profile is built (registry.ts prepare).
  load: async () => (await import('./social.js')).createSocialProvider,
  outboundHosts: (c) =>
    c.UseProviders.flatMap((p, i) => (['DiscoverURL', 'AuthURL', 'TokenURL', 'ProfileURL', 'EmailURL'] as const).flatMap((k) => urlHost(`ProviderConfig.UseProviders[${i}].${k}`, p[k]))),
  secrets: (c) => c.UseProviders.map((u) => u.Secret),
  usesLoginCookie: true,
  loginSegments: (c) => c.UseProviders.map((u) => u.Name),
  // As an OpenID Connect login reads the ID token and userinfo claims (oidc.ts).
  identityFromClaims: (_p, claims) => claimsIdentity(claims, 'openid-connect'),
  failureClasses: { unreachable: 'idp_error', refused: 'idp_error' },
  // RP-initiated and back-channel logout are OpenID Connect's; the OAuth presets have no logout (docs/logout.md).
  logout: (c) => (c.UseProviders.some((u) => u.Name === 'openid-connect') ? { backChannel: true } : undefined),
};
