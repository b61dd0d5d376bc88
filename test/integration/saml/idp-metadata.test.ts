/**
 * IdP metadata parsing (pure): EntityDescriptor and federation EntitiesDescriptor, the entity chosen, the
 * signing certificates (none: refused, fail closed), SSO bindings, validUntil, and bad input.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MetadataError, parseIdpMetadata } from '../../../src/providers/saml/idp-metadata.js';
import { makeTestCa } from '../../support/test-ca.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const PROTO = 'urn:oasis:names:tc:SAML:2.0:protocol';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

let dir: string;
let cert: string;
let cert2: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'saml-md-'));
  const body = (f: string) => fs.readFileSync(f, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const ca = makeTestCa(dir, 'idp');
  cert = body(ca.serverCert);
  cert2 = body(ca.caCert);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface EntityOpts {
  id?: string;
  keys?: Array<{ use?: string; cert: string }>;
  sso?: Array<[string, string]>;
  validUntil?: string;
  role?: 'IDPSSODescriptor' | 'SPSSODescriptor';
  ns?: boolean;
}

function entity(o: EntityOpts = {}): string {
  const keys = (o.keys ?? [{ use: 'signing', cert }])
    .map((k) => `<md:KeyDescriptor${k.use ? ` use="${k.use}"` : ''}><ds:KeyInfo xmlns:ds="${DS}"><ds:X509Data><ds:X509Certificate>\n${k.cert.match(/.{1,64}/g)?.join('\n')}\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
    .join('');
  const sso = (o.sso ?? [[REDIRECT, 'https://idp.example/sso/redirect'], [POST, 'https://idp.example/sso/post']]).map(([b, l]) => `<md:SingleSignOnService Binding="${b}" Location="${l}"/>`).join('');
  const role = o.role ?? 'IDPSSODescriptor';
  return `<md:EntityDescriptor${o.ns === false ? '' : ` xmlns:md="${MD}"`} entityID="${o.id ?? 'https://idp.example/'}"${o.validUntil ? ` validUntil="${o.validUntil}"` : ''}><md:${role} protocolSupportEnumeration="${PROTO}">${keys}${sso}</md:${role}></md:EntityDescriptor>`;
}

const refused = (xml: string, pattern: RegExp, want = {}) => {
  expect(() => parseIdpMetadata(xml, want)).toThrow(MetadataError);
  expect(() => parseIdpMetadata(xml, want)).toThrow(pattern);
};

describe('parseIdpMetadata', () => {
  it('reads an EntityDescriptor: entity ID, signing certificates, SSO URLs by binding', () => {
    const md = parseIdpMetadata(`<?xml version="1.0"?>${entity({ keys: [{ use: 'signing', cert }, { cert: cert2 }, { use: 'encryption', cert: cert2.slice(0) }] })}`);
    expect(md.entityId).toBe('https://idp.example/');
    // A KeyDescriptor without `use` is for signing too; an encryption-only one is not (dedup'd here: same cert).
    expect(md.signingCerts).toEqual([cert, cert2]);
    expect(md.sso).toEqual({ redirect: 'https://idp.example/sso/redirect', post: 'https://idp.example/sso/post' });
    expect(md.validUntil).toBeUndefined();
  });

  it('ignores an encryption-only key', () => {
    refused(entity({ keys: [{ use: 'encryption', cert }] }), /no signing certificate/);
  });

  it('takes the first IdP of a federation EntitiesDescriptor (nested groups too), or the one IDPEntityID names', () => {
    const fed = `<md:EntitiesDescriptor xmlns:md="${MD}" Name="fed"><md:EntitiesDescriptor>${entity({ id: 'urn:sp', role: 'SPSSODescriptor', ns: false })}</md:EntitiesDescriptor>${entity({ id: 'urn:idp1', ns: false })}${entity({ id: 'urn:idp2', ns: false, keys: [{ cert: cert2 }] })}</md:EntitiesDescriptor>`;
    expect(parseIdpMetadata(fed).entityId).toBe('urn:idp1');
    const two = parseIdpMetadata(fed, { entityId: 'urn:idp2' });
    expect(two.entityId).toBe('urn:idp2');
    expect(two.signingCerts).toEqual([cert2]);
    refused(fed, /no entity with entityID "urn:nope" \(IDPEntityID\)/, { entityId: 'urn:nope' });
    refused(fed, /has no SAML 2\.0 IDPSSODescriptor/, { entityId: 'urn:sp' });
  });

  it('fails closed without a signing certificate, and refuses a certificate that does not parse', () => {
    refused(entity({ keys: [] }), /no signing certificate/);
    refused(entity({ keys: [{ use: 'signing', cert: 'bm90IGEgY2VydA==' }] }), /cannot be parsed/);
  });

  it('needs an HTTP-Redirect or HTTP-POST SSO service with an http(s) Location', () => {
    expect(parseIdpMetadata(entity({ sso: [[POST, 'https://idp.example/p']] })).sso).toEqual({ post: 'https://idp.example/p' });
    refused(entity({ sso: [['urn:oasis:names:tc:SAML:2.0:bindings:SOAP', 'https://idp.example/soap']] }), /no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding/);
    refused(entity({ sso: [[REDIRECT, 'javascript:alert(1)']] }), /Location is not an http\(s\) URL/);
  });

  it('honours validUntil', () => {
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect(parseIdpMetadata(entity({ validUntil: future })).validUntil).toBe(Date.parse(future));
    refused(entity({ validUntil: '2020-01-01T00:00:00Z' }), /expired at 2020-01-01/);
    refused(entity({ validUntil: 'tomorrow' }), /validUntil is not a dateTime/);
  });

  it('refuses bad input: not XML, another root, a DOCTYPE (entities), a non-SAML IDPSSODescriptor', () => {
    refused('<html><body>not metadata</body>', /not well-formed|root element is html/);
    refused('', /not well-formed/);
    refused('{"json": true}', /not well-formed/);
    refused(`<EntityDescriptor entityID="x"/>`, /root element is EntityDescriptor, not an md:EntityDescriptor/);
    refused(`<!DOCTYPE md [<!ENTITY x "y">]>${entity()}`, /DOCTYPE/);
    refused(entity().replace(PROTO, 'urn:oasis:names:tc:SAML:1.1:protocol'), /no entity with a SAML 2\.0 IDPSSODescriptor/);
  });
});
