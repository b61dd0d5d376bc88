/** SocialProvider's ProviderConfig (docs/tib-behaviour.md §4.1), read with TIB's case-insensitive keys. */
import type { FieldReader } from '../../profiles/fields.js';

/** Every goth provider name TIB accepts. */
export const SOCIAL_PROVIDER_NAMES = [
  'gplus',
  'github',
  'twitter',
  'linkedin',
  'dropbox',
  'digitalocean',
  'bitbucket',
  'salesforce',
  'openid-connect',
] as const;
export type SocialProviderName = (typeof SOCIAL_PROVIDER_NAMES)[number];

export interface SocialProviderEntry {
  Name: SocialProviderName;
  Key: string;
  Secret: string;
  Scopes: string[];
  DiscoverURL: string;
  SkipUserInfoRequest: boolean;
  DisableAuthHeaderProviderDomain: string;
  /** Ours: accept an email the provider does not mark verified (`email_verified: false`, or no flag in a preset's API); default false. */
  AllowUnverifiedEmail: boolean;
  // Ours: endpoint overrides for the OAuth presets (GitHub Enterprise, Salesforce sandboxes, ...).
  AuthURL: string;
  TokenURL: string;
  ProfileURL: string;
  EmailURL: string;
}

export interface SocialConfig {
  UseProviders: SocialProviderEntry[];
  CallbackBaseURL: string;
  JWE: { Enabled: boolean; PrivateKeyLocation: string };
  /** Ours: PEM CA bundle trusted for this profile's calls to its IdPs, instead of the system roots (empty: system roots). */
  CAFile: string;
  /**
   * Ours: seconds a login may spend at the IdP before its state expires (default 300: enough to sign in with
   * MFA, as Keycloak's 5-minute login action timeout; shorter means less room for a flood of login starts).
   */
  LoginTimeout: number;
}

export function readSocialConfig(r: FieldReader): SocialConfig {
  const providers: SocialProviderEntry[] = [];
  const entries = r.objectList('UseProviders');
  if (entries.length === 0) r.error('UseProviders', 'must list at least one provider');
  for (const e of entries) {
    const name = e.string('Name');
    if (!(SOCIAL_PROVIDER_NAMES as readonly string[]).includes(name)) {
      e.error('Name', `must be one of ${SOCIAL_PROVIDER_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
      continue;
    }
    const entry: SocialProviderEntry = {
      Name: name as SocialProviderName,
      Key: e.string('Key'),
      Secret: e.string('Secret'),
      Scopes: e.stringList('Scopes'),
      DiscoverURL: name === 'openid-connect' ? e.url('DiscoverURL', true) : e.string('DiscoverURL'),
      SkipUserInfoRequest: e.bool('SkipUserInfoRequest'),
      DisableAuthHeaderProviderDomain: e.string('DisableAuthHeaderProviderDomain'),
      AllowUnverifiedEmail: e.bool('AllowUnverifiedEmail'),
      AuthURL: e.url('AuthURL'),
      TokenURL: e.url('TokenURL'),
      ProfileURL: e.url('ProfileURL'),
      EmailURL: e.url('EmailURL'),
    };
    if (entry.Key === '') e.error('Key', 'is required (the OAuth client id)');
    if (providers.some((p) => p.Name === entry.Name)) e.error('Name', `${name} is listed twice`);
    providers.push(entry);
  }
  const jwe = r.object('JWE');
  const c: SocialConfig = {
    UseProviders: providers,
    CallbackBaseURL: r.url('CallbackBaseURL', true),
    JWE: { Enabled: jwe.bool('Enabled'), PrivateKeyLocation: jwe.string('PrivateKeyLocation') },
    CAFile: r.string('CAFile'),
    LoginTimeout: r.int('LoginTimeout', 300),
  };
  if (c.LoginTimeout < 1 || c.LoginTimeout > 3600) r.error('LoginTimeout', 'must be between 1 and 3600 seconds');
  if (c.JWE.Enabled && c.JWE.PrivateKeyLocation === '') {
    jwe.error('PrivateKeyLocation', 'is required when JWE.Enabled is true');
  }
  return c;
}
