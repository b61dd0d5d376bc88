/** SAMLProvider's ProviderConfig (spec 4.4). */
import type { FieldReader } from '../../profiles/fields.js';

const WS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

export interface SamlConfig {
  IDPMetadataURL: string;
  CertLocation: string;
  SAMLBaseURL: string;
  ForceAuthentication: boolean;
  SAMLBinding: string;
  SAMLEmailClaim: string;
  SAMLForenameClaim: string;
  SAMLSurnameClaim: string;
  FailureRedirect: string;
  EntityId: string;
}

export const SAML_BINDINGS = [
  '',
  'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
];

export function readSamlConfig(r: FieldReader): SamlConfig {
  const c: SamlConfig = {
    IDPMetadataURL: r.url('IDPMetadataURL', true),
    CertLocation: r.string('CertLocation'),
    SAMLBaseURL: r.url('SAMLBaseURL', true),
    ForceAuthentication: r.bool('ForceAuthentication'),
    SAMLBinding: r.string('SAMLBinding'),
    SAMLEmailClaim: r.string('SAMLEmailClaim') || `${WS}/emailaddress`,
    SAMLForenameClaim: r.string('SAMLForenameClaim') || `${WS}/givenname`,
    SAMLSurnameClaim: r.string('SAMLSurnameClaim') || `${WS}/surname`,
    FailureRedirect: r.url('FailureRedirect'),
    EntityId: r.string('EntityId'),
  };
  if (c.CertLocation === '') r.error('CertLocation', 'is required (the SP certificate and key file)');
  if (!SAML_BINDINGS.includes(c.SAMLBinding)) r.error('SAMLBinding', `must be "" or one of ${SAML_BINDINGS.slice(1).join(', ')}`);
  return c;
}
