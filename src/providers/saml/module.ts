/** SAMLProvider as the broker knows it: SAML 2.0 Web Browser SSO (docs/providers/saml.md). */
import { ClaimsError, urlHost, type ProviderModule } from '../module.js';
import { metadataSource, readSamlConfig, type SamlConfig } from './saml-config.js';
import { samlIdentity } from './saml-claims.js';

export const samlModule: ProviderModule<SamlConfig> = {
  name: 'SAMLProvider',
  readConfig: readSamlConfig,
  // node-saml and the XML stack: imported when the first SAML profile is built (registry.ts prepare).
  load: async () => (await import('./saml.js')).createSamlProvider,
  outboundHosts: (c) => {
    // A local metadata file (absolute path or file:// URL) connects nowhere.
    const source = metadataSource(c.IDPMetadataURL);
    return source?.kind === 'url' ? urlHost('ProviderConfig.IDPMetadataURL', source.url) : [];
  },
  usesLoginCookie: true,
  // The claims are the assertion's attributes (each a string or a list of strings), NameID among them.
  identityFromClaims: ({ config }, claims) => {
    for (const [k, v] of Object.entries(claims)) {
      if (typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw new ClaimsError(`SAML attribute ${JSON.stringify(k)} must be a string or a list of strings`);
    }
    const attrs = claims as Record<string, string | string[]>;
    const { NameID: nameId, ...rest } = attrs;
    return samlIdentity(config, rest, typeof nameId === 'string' ? nameId : '');
  },
  failureClasses: { unreachable: 'idp_error', refused: 'idp_error' },
  // SAML single logout (slo.ts); no back-channel (that is OpenID Connect's).
  logout: () => ({ backChannel: false }),
};
