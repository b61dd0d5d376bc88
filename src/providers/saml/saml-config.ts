/**
 * SAMLProvider's ProviderConfig (docs/tib-behaviour.md §4.4, plus our IDPEntityID, IDPMetadataRefreshSeconds, AllowSHA1 and
 * AllowIDPInitiated). Pure: the certificate file and the metadata are read when the provider is built.
 * Keys are case-insensitive as in TIB, so the README's `IDPMetaDataURL` is the same key.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isHttpUrl, type FieldReader } from '../../profiles/fields.js';

const WS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

export const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
export const POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
export const SAML_BINDINGS = ['', REDIRECT_BINDING, POST_BINDING];

export const DEFAULT_REFRESH_SECONDS = 3600;
export const MIN_REFRESH_SECONDS = 60;

export interface SamlConfig {
  /** As written: an http(s) URL, an absolute path or a file:// URL. */
  IDPMetadataURL: string;
  IDPEntityID: string;
  IDPMetadataRefreshSeconds: number;
  CertLocation: string;
  SAMLBaseURL: string;
  ForceAuthentication: boolean;
  SAMLBinding: string;
  SAMLEmailClaim: string;
  SAMLForenameClaim: string;
  SAMLSurnameClaim: string;
  /** As written ("" means the SP metadata URL, as in TIB); see spUrls() for the value in use. */
  EntityId: string;
  AllowSHA1: boolean;
  AllowIDPInitiated: boolean;
}

/** Where the IdP metadata comes from: fetched over http(s), or read from a local file. */
export type MetadataSource = { kind: 'url'; url: string } | { kind: 'file'; path: string };

/** The metadata source `value` names, or undefined when it is neither an http(s) URL nor an absolute path. */
export function metadataSource(value: string): MetadataSource | undefined {
  if (isHttpUrl(value)) return { kind: 'url', url: value };
  if (value.startsWith('file:')) {
    try {
      return { kind: 'file', path: fileURLToPath(value) };
    } catch {
      return undefined;
    }
  }
  return path.isAbsolute(value) ? { kind: 'file', path: value } : undefined;
}

export interface SpUrls {
  metadata: string;
  acs: string;
  entityId: string;
}

/** TIB's SP URLs: relative paths resolved against SAMLBaseURL (RFC 3986, so a trailing slash matters). */
export function spUrls(c: Pick<SamlConfig, 'SAMLBaseURL' | 'EntityId'>, profileId: string): SpUrls {
  const at = (p: string) => new URL(`auth/${encodeURIComponent(profileId)}/saml/${p}`, c.SAMLBaseURL).toString();
  const metadata = at('metadata');
  return { metadata, acs: at('callback'), entityId: c.EntityId || metadata };
}

export function readSamlConfig(r: FieldReader): SamlConfig {
  const c: SamlConfig = {
    IDPMetadataURL: r.string('IDPMetadataURL'),
    IDPEntityID: r.string('IDPEntityID'),
    IDPMetadataRefreshSeconds: r.int('IDPMetadataRefreshSeconds', DEFAULT_REFRESH_SECONDS),
    CertLocation: r.string('CertLocation'),
    SAMLBaseURL: r.url('SAMLBaseURL', true),
    ForceAuthentication: r.bool('ForceAuthentication'),
    SAMLBinding: r.string('SAMLBinding'),
    SAMLEmailClaim: r.string('SAMLEmailClaim') || `${WS}/emailaddress`,
    SAMLForenameClaim: r.string('SAMLForenameClaim') || `${WS}/givenname`,
    SAMLSurnameClaim: r.string('SAMLSurnameClaim') || `${WS}/surname`,
    EntityId: r.string('EntityId'),
    AllowSHA1: r.bool('AllowSHA1'),
    AllowIDPInitiated: r.bool('AllowIDPInitiated'),
  };
  if (c.IDPMetadataURL === '') r.error('IDPMetadataURL', 'is required: the IdP metadata URL (http or https), or an absolute path or file:// URL of a metadata file');
  else if (!metadataSource(c.IDPMetadataURL)) {
    r.error('IDPMetadataURL', `must be an absolute http or https URL, an absolute file path or a file:// URL, got ${JSON.stringify(c.IDPMetadataURL)}`);
  }
  if (c.CertLocation === '') r.error('CertLocation', 'is required: a PEM file with the SP certificate and its RSA private key');
  if (!SAML_BINDINGS.includes(c.SAMLBinding)) r.error('SAMLBinding', `must be "" (redirect preferred) or one of ${SAML_BINDINGS.slice(1).join(', ')}, got ${JSON.stringify(c.SAMLBinding)}`);
  if (c.IDPMetadataRefreshSeconds < MIN_REFRESH_SECONDS) {
    r.error('IDPMetadataRefreshSeconds', `must be at least ${MIN_REFRESH_SECONDS} (seconds between metadata refreshes), got ${c.IDPMetadataRefreshSeconds}`);
  }
  return c;
}
