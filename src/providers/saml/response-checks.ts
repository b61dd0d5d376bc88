/**
 * Our checks of a SAML Response, around node-saml's (which verifies the signature, reads the assertion only
 * from the signed XML, decrypts, and checks Conditions and Audience). Pure functions on the DOM:
 * - before: a Response, status Success, exactly one assertion (plain or encrypted) in the whole document, no
 *   XML comments, and only allowed algorithms in every signature (SHA-256/384/512, SHA-1 only with
 *   AllowSHA1; exclusive or inclusive c14n without comments; the enveloped-signature transform), and only
 *   AES content and RSA-OAEP key encryption in an EncryptedAssertion;
 * - after, on the signed assertion: the Issuer is the IdP of the metadata, a bearer SubjectConfirmation for
 *   our ACS still valid, and what the replay cache and InResponseTo checks need. node-saml does not check
 *   Destination, Recipient or the Issuer.
 */
import { attr, child, children, descendants, hasComment, NS, parseXml, text } from './xml-dom.js';

export class ResponseRejected extends Error {}

/** Clock skew allowed on every time check (ours and node-saml's), in ms. */
export const CLOCK_SKEW_MS = 120_000;
/** Far beyond any IdP's IDs; keeps replay-cache keys small. */
const MAX_ID_LENGTH = 256;

const XMLDSIG = 'http://www.w3.org/2000/09/xmldsig#';
const XMLDSIG_MORE = 'http://www.w3.org/2001/04/xmldsig-more#';
const XMLENC = 'http://www.w3.org/2001/04/xmlenc#';
const SIGNATURE_METHODS = [`${XMLDSIG_MORE}rsa-sha256`, `${XMLDSIG_MORE}rsa-sha384`, `${XMLDSIG_MORE}rsa-sha512`, `${XMLDSIG_MORE}ecdsa-sha256`, `${XMLDSIG_MORE}ecdsa-sha384`, `${XMLDSIG_MORE}ecdsa-sha512`];
const DIGEST_METHODS = [`${XMLENC}sha256`, `${XMLDSIG_MORE}sha384`, `${XMLENC}sha512`];
const SHA1_SIGNATURE = `${XMLDSIG}rsa-sha1`;
const SHA1_DIGEST = `${XMLDSIG}sha1`;
/** Canonicalization WITHOUT comments only: a comment-preserving form lets a comment change what is read. */
const C14N = ['http://www.w3.org/2001/10/xml-exc-c14n#', 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315', 'http://www.w3.org/2006/12/xml-c14n11'];
const TRANSFORMS = [`${XMLDSIG}enveloped-signature`, ...C14N];
/** What the SP metadata advertises: AES (GCM, CBC) content, RSA-OAEP key transport. Not Triple-DES (withdrawn
 * by NIST), not RSA PKCS#1 v1.5 (Bleichenbacher), which node-saml's decryption would otherwise accept. */
const DATA_ENCRYPTION = [`${XMLENC}aes128-cbc`, `${XMLENC}aes256-cbc`, 'http://www.w3.org/2009/xmlenc11#aes128-gcm', 'http://www.w3.org/2009/xmlenc11#aes256-gcm'];
const KEY_TRANSPORT = [`${XMLENC}rsa-oaep-mgf1p`];
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

function reject(reason: string): never {
  throw new ResponseRejected(reason);
}

/** Quoted and cut, for a log line: values from the response are the client's. */
function q(v: string): string {
  return JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}...` : v);
}

/** Every ds:Signature under `root` uses allowed algorithms only. */
export function checkAlgorithms(root: Node, allowSha1: boolean): void {
  const sigs = allowSha1 ? [...SIGNATURE_METHODS, SHA1_SIGNATURE] : SIGNATURE_METHODS;
  const digests = allowSha1 ? [...DIGEST_METHODS, SHA1_DIGEST] : DIGEST_METHODS;
  const sha1 = (a: string) => (a === SHA1_SIGNATURE || a === SHA1_DIGEST ? ' (SHA-1: refused unless the profile sets AllowSHA1)' : '');
  for (const sig of descendants(root, NS.ds, 'Signature')) {
    const info = child(sig, NS.ds, 'SignedInfo');
    if (!info) reject('a Signature has no SignedInfo');
    const c14n = attr(child(info, NS.ds, 'CanonicalizationMethod'), 'Algorithm');
    if (!C14N.includes(c14n)) reject(`canonicalization ${q(c14n)} is not allowed`);
    const method = attr(child(info, NS.ds, 'SignatureMethod'), 'Algorithm');
    if (!sigs.includes(method)) reject(`signature algorithm ${q(method)} is not allowed${sha1(method)}`);
    const refs = children(info, NS.ds, 'Reference');
    if (refs.length !== 1) reject(`a Signature has ${refs.length} References (exactly one expected)`);
    for (const ref of refs) {
      const digest = attr(child(ref, NS.ds, 'DigestMethod'), 'Algorithm');
      if (!digests.includes(digest)) reject(`digest algorithm ${q(digest)} is not allowed${sha1(digest)}`);
      const transforms = child(ref, NS.ds, 'Transforms');
      for (const t of transforms ? children(transforms, NS.ds, 'Transform') : []) {
        const a = attr(t, 'Algorithm');
        if (!TRANSFORMS.includes(a)) reject(`transform ${q(a)} is not allowed`);
      }
    }
  }
}

/** Every EncryptionMethod under the EncryptedAssertion is an allowed content or key-transport algorithm. */
export function checkEncryption(encrypted: Element): void {
  for (const m of descendants(encrypted, NS.xenc, 'EncryptionMethod')) {
    const a = attr(m, 'Algorithm');
    const allowed = (m.parentNode as Element | null)?.localName === 'EncryptedKey' ? KEY_TRANSPORT : DATA_ENCRYPTION;
    if (!allowed.includes(a)) reject(`encryption algorithm ${q(a)} is not allowed`);
  }
}

export interface ResponseShape {
  /** The Response's Destination, InResponseTo and Issuer ("" when absent). */
  destination: string;
  inResponseTo: string;
  issuer: string;
  /** The one EncryptedAssertion, when the assertion is encrypted. */
  encrypted?: Element;
  /** Whether the (plain) Assertion carries its own signature, which must then verify too. */
  assertionSigned: boolean;
}

function hasOwnSignature(el: Element | undefined): boolean {
  return el !== undefined && children(el, NS.ds, 'Signature').length > 0;
}

/** Checks on the whole Response, before any signature is verified. */
export function checkResponse(xml: string, o: { allowSha1: boolean }): ResponseShape {
  const doc = parseXml(xml, 'the SAMLResponse');
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.samlp || root.localName !== 'Response') reject(`the message is ${q(root.localName ?? '')}, not a samlp:Response`);
  const status = attr(child(child(root, NS.samlp, 'Status') ?? root, NS.samlp, 'StatusCode'), 'Value');
  if (status !== SUCCESS) {
    const msg = text(child(child(root, NS.samlp, 'Status') ?? root, NS.samlp, 'StatusMessage'));
    reject(`the IdP answered status ${q(status || '(none)')}${msg ? ` (${q(msg)})` : ''}`);
  }
  // Anywhere in the document, not only as children: signature-wrapping hides a second one elsewhere.
  const plain = descendants(doc, NS.saml, 'Assertion');
  const encrypted = descendants(doc, NS.saml, 'EncryptedAssertion');
  if (plain.length + encrypted.length !== 1) reject(`the response holds ${plain.length} assertions and ${encrypted.length} encrypted assertions (exactly one expected)`);
  const one = plain[0] ?? encrypted[0];
  if (one?.parentNode !== root) reject('the assertion is not a child of the Response');
  if (hasComment(doc)) reject('the response contains an XML comment (refused: comments can truncate a NameID or attribute value)');
  checkAlgorithms(doc, o.allowSha1);
  if (encrypted[0]) checkEncryption(encrypted[0]);
  return {
    destination: attr(root, 'Destination'),
    inResponseTo: attr(root, 'InResponseTo'),
    issuer: text(child(root, NS.saml, 'Issuer')),
    encrypted: encrypted[0],
    assertionSigned: hasOwnSignature(plain[0]),
  };
}

/** Checks on a decrypted assertion, which the Response-level checks could not see; true when it is signed. */
export function checkDecryptedAssertion(xml: string, o: { allowSha1: boolean }): boolean {
  const doc = parseXml(xml, 'the decrypted assertion');
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.saml || root.localName !== 'Assertion') reject('the EncryptedAssertion does not hold an Assertion');
  if (descendants(root, NS.saml, 'Assertion').length > 0) reject('the decrypted assertion holds another assertion');
  if (hasComment(doc)) reject('the assertion contains an XML comment (refused: comments can truncate a NameID or attribute value)');
  checkAlgorithms(doc, o.allowSha1);
  return hasOwnSignature(root);
}

export interface AssertionFacts {
  id: string;
  /** The bearer SubjectConfirmationData's InResponseTo ("" for an unsolicited response). */
  inResponseTo: string;
  /** Until when the assertion could be accepted (bearer NotOnOrAfter + skew), ms since the epoch. */
  usableUntil: number;
}

export interface Expected {
  idpEntityId: string;
  acs: string;
  now: number;
}

/** Checks on the signed assertion node-saml returned, and on the Response fields that go with it. */
export function checkAssertion(assertionXml: string, response: ResponseShape, e: Expected): AssertionFacts {
  const doc = parseXml(assertionXml, 'the signed assertion');
  const a = doc.documentElement;
  if (a.namespaceURI !== NS.saml || a.localName !== 'Assertion') reject('the signed element is not an Assertion');
  if (hasComment(doc)) reject('the assertion contains an XML comment');
  const id = attr(a, 'ID');
  if (id === '' || id.length > MAX_ID_LENGTH) reject(`the assertion ID is ${id === '' ? 'missing' : 'too long'}`);

  if (response.destination !== e.acs) reject(`Destination ${q(response.destination || '(none)')} is not our ACS ${q(e.acs)}`);
  if (response.issuer !== '' && response.issuer !== e.idpEntityId) reject(`the Response Issuer ${q(response.issuer)} is not the IdP ${q(e.idpEntityId)} of the metadata`);
  const issuer = text(child(a, NS.saml, 'Issuer'));
  if (issuer !== e.idpEntityId) reject(`the Assertion Issuer ${q(issuer || '(none)')} is not the IdP ${q(e.idpEntityId)} of the metadata`);

  // Web SSO profile 4.1.4.2: a bearer confirmation for our ACS, not expired, with InResponseTo when solicited.
  const subject = child(a, NS.saml, 'Subject');
  const confirmations = subject ? children(subject, NS.saml, 'SubjectConfirmation').filter((c) => attr(c, 'Method') === BEARER) : [];
  if (confirmations.length === 0) reject('the assertion has no bearer SubjectConfirmation');
  const problems: string[] = [];
  for (const c of confirmations) {
    const data = child(c, NS.saml, 'SubjectConfirmationData');
    const recipient = attr(data, 'Recipient');
    const notOnOrAfter = Date.parse(attr(data, 'NotOnOrAfter'));
    const notBefore = attr(data, 'NotBefore');
    if (recipient !== e.acs) problems.push(`Recipient ${q(recipient || '(none)')} is not our ACS ${q(e.acs)}`);
    else if (Number.isNaN(notOnOrAfter)) problems.push('the bearer SubjectConfirmationData has no NotOnOrAfter');
    else if (e.now - CLOCK_SKEW_MS >= notOnOrAfter) problems.push('the bearer SubjectConfirmationData has expired (NotOnOrAfter)');
    else if (notBefore !== '' && !(Date.parse(notBefore) <= e.now + CLOCK_SKEW_MS)) problems.push('the bearer SubjectConfirmationData is not yet valid (NotBefore)');
    else {
      const inResponseTo = attr(data, 'InResponseTo');
      if (response.inResponseTo !== '' && response.inResponseTo !== inResponseTo) {
        reject(`the Response's InResponseTo ${q(response.inResponseTo)} differs from the assertion's ${q(inResponseTo || '(none)')}`);
      }
      return { id, inResponseTo, usableUntil: notOnOrAfter + CLOCK_SKEW_MS };
    }
  }
  return reject(problems.join('; '));
}
