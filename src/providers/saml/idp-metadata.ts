/**
 * The IdP's SAML metadata, parsed (pure): an EntityDescriptor, or a federation's EntitiesDescriptor (then the
 * entity IDPEntityID names, else the first with an IDPSSODescriptor, as TIB). What we keep: the entity ID
 * (the Issuer we require), the signing certificates (none means no login: we fail closed), the SSO URLs and
 * the SingleLogoutService endpoints (single logout, slo.ts).
 */
import { X509Certificate } from 'node:crypto';
import { isHttpUrl } from '../../profiles/fields.js';
import { POST_BINDING, REDIRECT_BINDING } from './saml-config.js';
import { attr, children, NS, parseXml, text, XmlError } from './xml-dom.js';

export interface IdpMetadata {
  entityId: string;
  /** Base64 DER of each certificate the IdP signs with. */
  signingCerts: string[];
  /** SingleSignOnService locations by binding. */
  sso: { redirect?: string; post?: string };
  /** SingleLogoutService endpoints by binding (none: the IdP offers no single logout). */
  slo: { redirect?: SloEndpoint; post?: SloEndpoint };
  /** validUntil, in ms since the epoch, when the metadata says. */
  validUntil?: number;
}

export interface SloEndpoint {
  location: string;
  /** Where our LogoutResponse goes, when it differs from `location` (metadata §2.2.2). */
  responseLocation?: string;
}

const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';

export class MetadataError extends Error {}

/** Every EntityDescriptor under an EntitiesDescriptor (nested groups included), in document order. */
function entities(root: Element): Element[] {
  if (root.namespaceURI === NS.md && root.localName === 'EntityDescriptor') return [root];
  if (root.namespaceURI !== NS.md || root.localName !== 'EntitiesDescriptor') {
    throw new MetadataError(`the root element is ${root.localName}, not an md:EntityDescriptor or md:EntitiesDescriptor`);
  }
  const out: Element[] = [];
  for (let n = root.firstChild; n; n = n.nextSibling) {
    const el = n as Element;
    if (n.nodeType === 1 && el.namespaceURI === NS.md && (el.localName === 'EntityDescriptor' || el.localName === 'EntitiesDescriptor')) out.push(...entities(el));
  }
  return out;
}

function idpDescriptor(entity: Element): Element | undefined {
  return children(entity, NS.md, 'IDPSSODescriptor').find((d) => attr(d, 'protocolSupportEnumeration').split(/\s+/).includes(SAML2_PROTOCOL));
}

function expiry(...els: Element[]): number | undefined {
  const times = els.map((e) => attr(e, 'validUntil')).filter(Boolean).map((v) => Date.parse(v));
  if (times.some(Number.isNaN)) throw new MetadataError('validUntil is not a dateTime');
  return times.length > 0 ? Math.min(...times) : undefined;
}

export function parseIdpMetadata(xml: string, want: { entityId?: string; now?: number } = {}): IdpMetadata {
  let doc: Document;
  try {
    doc = parseXml(xml, 'the metadata');
  } catch (err) {
    throw new MetadataError(err instanceof XmlError ? err.message : String(err));
  }
  const root = doc.documentElement;
  const all = entities(root);
  const entity = want.entityId
    ? all.find((e) => attr(e, 'entityID') === want.entityId)
    : all.find((e) => idpDescriptor(e) !== undefined);
  if (!entity) throw new MetadataError(want.entityId ? `no entity with entityID ${JSON.stringify(want.entityId)} (IDPEntityID)` : 'no entity with a SAML 2.0 IDPSSODescriptor');
  const idp = idpDescriptor(entity);
  if (!idp) throw new MetadataError(`entity ${JSON.stringify(attr(entity, 'entityID'))} has no SAML 2.0 IDPSSODescriptor`);
  const entityId = attr(entity, 'entityID');
  if (!entityId) throw new MetadataError('the IdP entity has no entityID');

  const signingCerts: string[] = [];
  for (const kd of children(idp, NS.md, 'KeyDescriptor')) {
    const use = attr(kd, 'use');
    if (use !== '' && use !== 'signing') continue;
    for (const info of children(kd, NS.ds, 'KeyInfo')) {
      for (const data of children(info, NS.ds, 'X509Data')) {
        for (const c of children(data, NS.ds, 'X509Certificate')) {
          const b64 = text(c).replace(/\s+/g, '');
          try {
            new X509Certificate(Buffer.from(b64, 'base64'));
          } catch {
            throw new MetadataError('a signing X509Certificate cannot be parsed');
          }
          if (!signingCerts.includes(b64)) signingCerts.push(b64);
        }
      }
    }
  }
  // Without a certificate no signature can be checked: refuse rather than accept anything.
  if (signingCerts.length === 0) throw new MetadataError('the IDPSSODescriptor has no signing certificate (KeyDescriptor use="signing" with an X509Certificate)');

  const sso: IdpMetadata['sso'] = {};
  for (const s of children(idp, NS.md, 'SingleSignOnService')) {
    const binding = attr(s, 'Binding');
    const location = attr(s, 'Location');
    if (binding !== REDIRECT_BINDING && binding !== POST_BINDING) continue;
    if (!isHttpUrl(location)) throw new MetadataError(`a SingleSignOnService Location is not an http(s) URL: ${JSON.stringify(location.slice(0, 200))}`);
    const key = binding === REDIRECT_BINDING ? 'redirect' : 'post';
    sso[key] ??= location;
  }
  if (!sso.redirect && !sso.post) throw new MetadataError('the IDPSSODescriptor has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding');

  // An SLO endpoint we cannot use is skipped, never an error: logins must not depend on logout.
  const slo: IdpMetadata['slo'] = {};
  for (const s of children(idp, NS.md, 'SingleLogoutService')) {
    const binding = attr(s, 'Binding');
    const location = attr(s, 'Location');
    const responseLocation = attr(s, 'ResponseLocation');
    if ((binding !== REDIRECT_BINDING && binding !== POST_BINDING) || !isHttpUrl(location) || (responseLocation !== '' && !isHttpUrl(responseLocation))) continue;
    slo[binding === REDIRECT_BINDING ? 'redirect' : 'post'] ??= responseLocation ? { location, responseLocation } : { location };
  }

  const validUntil = expiry(root, entity);
  if (validUntil !== undefined && validUntil <= (want.now ?? Date.now())) {
    throw new MetadataError(`the metadata expired at ${new Date(validUntil).toISOString()} (validUntil)`);
  }
  return { entityId, signingCerts, sso, slo, validUntil };
}
