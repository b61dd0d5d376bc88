/**
 * SAMLProvider load-time checks of the ProviderConfig fields (profile validation, pure). The CertLocation
 * file, read with certificates the openssl CLI makes, is checked in test/integration/saml/sp-key.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { actionFactories } from '../../src/actions/registry.js';
import { ACTION_TYPES } from '../../src/profiles/profile.js';
import { formatProblem, validateProfileList } from '../../src/profiles/validate.js';
import { FieldReader } from '../../src/profiles/fields.js';
import { builtinProviders } from '../../src/providers/registry.js';
import { TIB_RULES } from '../support/rules.js';

import { metadataSource, readSamlConfig, spUrls } from '../../src/providers/saml/saml-config.js';

/** ProviderConfig as the SAML module reads it. */
const parseProviderConfig = (_name: 'SAMLProvider', raw: Record<string, unknown>) => ({ config: readSamlConfig(new FieldReader(raw, 'ProviderConfig', [])) });

const good = {
  IDPMetadataURL: 'https://login.microsoftonline.com/tenant/federationmetadata/2007-06/federationmetadata.xml',
  CertLocation: '/etc/tib/sp.pem',
  SAMLBaseURL: 'https://sso.example.com/',
};

function problems(providerConfig: Record<string, unknown>, extra: { allowedHosts?: string[] } = {}): string[] {
  const profile = { ID: 'entra', ActionType: 'GenerateOrLoginUserProfile', ProviderName: 'SAMLProvider', OrgID: 'o', ProviderConfig: providerConfig };
  return validateProfileList([profile], 'profiles.json', { ...TIB_RULES, ...extra }).problems.map(formatProblem);
}

describe('SAMLProvider ProviderConfig', () => {
  it('accepts a minimal profile, with TIB defaults', () => {
    expect(problems(good)).toEqual([]);
    const { config } = parseProviderConfig('SAMLProvider', good);
    expect(config).toMatchObject({
      SAMLEmailClaim: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
      SAMLForenameClaim: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname',
      SAMLSurnameClaim: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname',
      IDPMetadataRefreshSeconds: 3600,
      AllowSHA1: false,
      AllowIDPInitiated: false,
      SAMLBinding: '',
    });
  });

  it("reads the README's IDPMetaDataURL spelling (keys are case-insensitive, as in TIB)", () => {
    const { IDPMetadataURL, ...rest } = good;
    expect(parseProviderConfig('SAMLProvider', { ...rest, IDPMetaDataURL: IDPMetadataURL }).config.IDPMetadataURL).toBe(IDPMetadataURL);
  });

  it('names the profile and field of each error', () => {
    const out = problems({ IDPMetadataURL: 'metadata.xml', SAMLBaseURL: '/relative', SAMLBinding: 'post', IDPMetadataRefreshSeconds: 5 });
    expect(out).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^profiles\.json: profile "entra" \(#1\): ProviderConfig\.IDPMetadataURL: must be an absolute http or https URL, an absolute file path or a file:\/\/ URL/),
        expect.stringMatching(/profile "entra" .*ProviderConfig\.CertLocation: is required/),
        expect.stringMatching(/profile "entra" .*ProviderConfig\.SAMLBaseURL: must be an absolute http or https URL/),
        expect.stringMatching(/profile "entra" .*ProviderConfig\.SAMLBinding: must be "" .*HTTP-Redirect.*HTTP-POST, got "post"/),
        expect.stringMatching(/profile "entra" .*ProviderConfig\.IDPMetadataRefreshSeconds: must be at least 60/),
      ]),
    );
    expect(out).toHaveLength(5);
    expect(problems({ CertLocation: 'x' })).toEqual(
      expect.arrayContaining([expect.stringMatching(/ProviderConfig\.IDPMetadataURL: is required/), expect.stringMatching(/ProviderConfig\.SAMLBaseURL: is required/)]),
    );
  });

  it('checks the metadata host against AllowedIdPHosts, but not a local file', () => {
    expect(problems(good, { allowedHosts: ['idp.example.com'] })).toEqual([expect.stringMatching(/ProviderConfig\.IDPMetadataURL: host "login\.microsoftonline\.com" is not in AllowedIdPHosts/)]);
    expect(problems({ ...good, IDPMetadataURL: '/etc/tib/idp.xml' }, { allowedHosts: ['idp.example.com'] })).toEqual([]);
    expect(problems({ ...good, IDPMetadataURL: 'file:///etc/tib/idp.xml' }, { allowedHosts: ['idp.example.com'] })).toEqual([]);
  });

  it('metadata sources: http(s) URLs, absolute paths and file:// URLs', () => {
    expect(metadataSource('https://idp.example/md')).toEqual({ kind: 'url', url: 'https://idp.example/md' });
    expect(metadataSource('/etc/idp.xml')).toEqual({ kind: 'file', path: '/etc/idp.xml' });
    expect(metadataSource('file:///etc/idp.xml')).toEqual({ kind: 'file', path: '/etc/idp.xml' });
    expect(metadataSource('idp.xml')).toBeUndefined();
    expect(metadataSource('ftp://idp.example/md')).toBeUndefined();
  });

  it("resolves TIB's SP URLs against SAMLBaseURL (RFC 3986: the trailing slash matters)", () => {
    expect(spUrls({ SAMLBaseURL: 'https://sso.example.com/tib/', EntityId: '' }, 'p1')).toEqual({
      metadata: 'https://sso.example.com/tib/auth/p1/saml/metadata',
      acs: 'https://sso.example.com/tib/auth/p1/saml/callback',
      entityId: 'https://sso.example.com/tib/auth/p1/saml/metadata',
    });
    expect(spUrls({ SAMLBaseURL: 'https://sso.example.com/tib', EntityId: 'urn:sp' }, 'p1')).toMatchObject({ acs: 'https://sso.example.com/auth/p1/saml/callback', entityId: 'urn:sp' });
  });
});

describe('every TIB ProviderName and ActionType has a factory (no silent 501)', () => {
  it('every ProviderName and ActionType of TIB has a factory', async () => {
    expect(builtinProviders.names.sort()).toEqual(['ADProvider', 'ProxyProvider', 'SAMLProvider', 'SocialProvider']);
    // Loaded when a profile needs it (ProviderModule.load, registry.ts prepare).
    await builtinProviders.prepare(builtinProviders.names.map((ProviderName) => ({ ProviderName })));
    for (const name of builtinProviders.names) expect(typeof builtinProviders.creator(builtinProviders.of({ ProviderName: name }))).toBe('function');
    for (const type of ACTION_TYPES) expect(typeof actionFactories[type]).toBe('function');
  });
});
