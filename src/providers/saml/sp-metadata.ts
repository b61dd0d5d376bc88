/**
 * Our SP metadata (`GET /auth/{id}/saml/metadata`), as TIB publishes it plus a signing KeyDescriptor:
 * validUntil now + 48 h, WantAssertionsSigned, the SP certificate for signing and encryption, the ACS with
 * the HTTP-POST binding, and SingleLogoutService (HTTP-Redirect and HTTP-POST, slo.ts) only when the profile has
 * logout on (TIB serves none). AuthnRequests are not signed, as TIB's; logout messages are.
 * A small template rather than node-saml's generator, which adds the signing key only when it signs requests
 * and has no validUntil.
 */
const VALID_MS = 48 * 3600 * 1000;

const NAMEID_FORMATS = [
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
];

/** What xml-encryption (node-saml's decrypter) supports. */
const ENCRYPTION_METHODS = [
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
];

export const SP_METADATA_TYPE = 'application/samlmetadata+xml';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function spMetadataXml(o: { entityId: string; acs: string; certBase64: string; slo?: string; now?: number }): string {
  const validUntil = new Date((o.now ?? Date.now()) + VALID_MS).toISOString();
  const keyInfo = `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${o.certBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
  return [
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${esc(o.entityId)}" validUntil="${validUntil}">`,
    `  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="false" WantAssertionsSigned="true">`,
    `    <md:KeyDescriptor use="signing">${keyInfo}</md:KeyDescriptor>`,
    `    <md:KeyDescriptor use="encryption">${keyInfo}`,
    ...ENCRYPTION_METHODS.map((a) => `      <md:EncryptionMethod Algorithm="${a}"/>`),
    `    </md:KeyDescriptor>`,
    // Metadata schema order: KeyDescriptor, SingleLogoutService, NameIDFormat, AssertionConsumerService.
    ...(o.slo ? ['HTTP-Redirect', 'HTTP-POST'].map((b) => `    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${b}" Location="${esc(o.slo as string)}"/>`) : []),
    ...NAMEID_FORMATS.map((f) => `    <md:NameIDFormat>${f}</md:NameIDFormat>`),
    `    <md:AssertionConsumerService index="1" isDefault="true" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${esc(o.acs)}"/>`,
    `  </md:SPSSODescriptor>`,
    `</md:EntityDescriptor>`,
    '',
  ].join('\n');
}
