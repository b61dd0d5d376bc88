/**
 * ProviderName -> factory: every ProviderName of TIB is built (a Record, so a new name cannot be left out).
 * A provider is built once per profile version (see runtime.ts), never per request. Providers of an
 * embedding application (other ProviderNames) come from BrokerOptions.providers, not from here.
 */
import type { ProviderName } from '../profiles/profile.js';
import { createLdapProvider } from './ldap/ldap.js';
import type { ProviderFactory } from './provider.js';
import { createProxyProvider } from './proxy/proxy.js';
import { createSamlProvider } from './saml/saml.js';
import { createSocialProvider } from './social/social.js';

export const providerFactories: Record<ProviderName, ProviderFactory> = {
  ADProvider: createLdapProvider,
  SocialProvider: createSocialProvider,
  ProxyProvider: createProxyProvider,
  SAMLProvider: createSamlProvider,
};
