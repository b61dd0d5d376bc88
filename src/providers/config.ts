/** ProviderName -> its ProviderConfig reader. Used by profile validation and by the providers. */
import { FieldReader, type FieldError } from '../profiles/fields.js';
import type { ProviderName } from '../profiles/profile.js';
import { readLdapConfig, type LdapConfig } from './ldap/ldap-config.js';
import { readProxyConfig, type ProxyConfig } from './proxy/proxy-config.js';
import { readSamlConfig, type SamlConfig } from './saml/saml-config.js';
import { readSocialConfig, type SocialConfig } from './social/social-config.js';

export interface ProviderConfigs {
  ADProvider: LdapConfig;
  SocialProvider: SocialConfig;
  ProxyProvider: ProxyConfig;
  SAMLProvider: SamlConfig;
}

const readers: { [K in ProviderName]: (r: FieldReader) => ProviderConfigs[K] } = {
  ADProvider: readLdapConfig,
  SocialProvider: readSocialConfig,
  ProxyProvider: readProxyConfig,
  SAMLProvider: readSamlConfig,
};

export interface ParsedProviderConfig<K extends ProviderName> {
  config: ProviderConfigs[K];
  errors: FieldError[];
  /** Keys no reader knows (typos, or options of another provider): worth a warning, not an error. */
  unknownKeys: string[];
  /** The options the reader knows, for a "did you mean" on an unknown key. */
  knownKeys: string[];
}

export function parseProviderConfig<K extends ProviderName>(name: K, raw: Record<string, unknown> | null): ParsedProviderConfig<K> {
  const errors: FieldError[] = [];
  const reader = new FieldReader(raw ?? {}, 'ProviderConfig', errors);
  const config = readers[name](reader);
  return { config, errors, unknownKeys: reader.unknownKeys(), knownKeys: reader.knownKeys() };
}
