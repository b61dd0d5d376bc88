/**
 * ProviderName -> factory. A provider is built once per profile version (see runtime.ts), never per
 * request. A name with no factory yet answers 501 on its routes. Providers of an embedding application
 * (other ProviderNames) come from BrokerOptions.providers, not from here.
 */
import type { ProviderName } from '../profiles/profile.js';
import { createLdapProvider } from './ldap/ldap.js';
import type { ProviderFactory } from './provider.js';
import { createProxyProvider } from './proxy/proxy.js';
import { createSocialProvider } from './social/social.js';

export const providerFactories: Partial<Record<ProviderName, ProviderFactory>> = {
  ADProvider: createLdapProvider,
  SocialProvider: createSocialProvider,
  ProxyProvider: createProxyProvider,
};
