/**
 * Our own checks of a SAML Response (pure, response-checks.ts), on hand-written XML: the shape before any
 * signature is verified (status, exactly one assertion anywhere, no comments, no DOCTYPE, the algorithm and
 * transform allow-list), and the signed assertion's Issuer, bearer confirmation, Destination and InResponseTo.
 * Signatures themselves (and their absence) are tested end to end in saml-security.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { checkAssertion, checkDecryptedAssertion, checkResponse, CLOCK_SKEW_MS, ResponseRejected } from '../../src/providers/saml/response-checks.js';
import { XmlError } from '../../src/providers/saml/xml-dom.js';

const P = 'urn:oasis:names:tc:SAML:2.0:protocol';
const A = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const ACS = 'https://sso.example.com/auth/p/saml/callback';
const IDP = 'https://idp.example/';
const SHA256 = { sig: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digest: 'http://www.w3.org/2001/04/xmlenc#sha256' };
const EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENV = `${DS}enveloped-signature`;
const NOW = Date.parse('2026-11-25T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function signature(o: { sig?: string; digest?: string; c14n?: string; transforms?: string[]; refs?: number } = {}): string {
  const transforms = (o.transforms ?? [ENV, EXC]).map((t) => `<ds:Transform Algorithm="${t}"/>`).join('');
  const ref = `<ds:Reference URI="#a1"><ds:Transforms>${transforms}</ds:Transforms><ds:DigestMethod Algorithm="${o.digest ?? SHA256.digest}"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference>`;
  return `<ds:Signature xmlns:ds="${DS}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${o.c14n ?? EXC}"/><ds:SignatureMethod Algorithm="${o.sig ?? SHA256.sig}"/>${ref.repeat(o.refs ?? 1)}</ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>`;
}

interface AssertionOpts {
  issuer?: string;
  recipient?: string;
  notOnOrAfter?: number | null;
  inResponseTo?: string;
  method?: string;
  sig?: string;
  nameId?: string;
}

function assertion(o: AssertionOpts = {}): string {
  const nooa = o.notOnOrAfter === null ? '' : ` NotOnOrAfter="${iso(o.notOnOrAfter ?? NOW + 300_000)}"`;
  const irt = o.inResponseTo === undefined ? ' InResponseTo="_req1"' : o.inResponseTo ? ` InResponseTo="${o.inResponseTo}"` : '';
  return (
    `<saml:Assertion xmlns:saml="${A}" ID="a1" Version="2.0" IssueInstant="${iso(NOW)}"><saml:Issuer>${o.issuer ?? IDP}</saml:Issuer>${o.sig ?? signature()}` +
    `<saml:Subject><saml:NameID>${o.nameId ?? 'ada'}</saml:NameID><saml:SubjectConfirmation Method="${o.method ?? 'urn:oasis:names:tc:SAML:2.0:cm:bearer'}">` +
    `<saml:SubjectConfirmationData Recipient="${o.recipient ?? ACS}"${nooa}${irt}/></saml:SubjectConfirmation></saml:Subject></saml:Assertion>`
  );
}

function response(o: { status?: string; body?: string; destination?: string; inResponseTo?: string; issuer?: string; before?: string } = {}): string {
  const irt = o.inResponseTo === undefined ? ' InResponseTo="_req1"' : o.inResponseTo ? ` InResponseTo="${o.inResponseTo}"` : '';
  return (
    `${o.before ?? ''}<samlp:Response xmlns:samlp="${P}" xmlns:saml="${A}" ID="r1" Version="2.0" IssueInstant="${iso(NOW)}" Destination="${o.destination ?? ACS}"${irt}>` +
    `<saml:Issuer>${o.issuer ?? IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${o.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status>${o.body ?? assertion()}</samlp:Response>`
  );
}

const rejected = (f: () => unknown, pattern: RegExp) => {
  expect(f).toThrow(pattern);
  try {
    f();
  } catch (err) {
    expect(err instanceof ResponseRejected || err instanceof XmlError).toBe(true);
  }
};
const shape = (xml: string, allowSha1 = false) => checkResponse(xml, { allowSha1 });
const facts = (a: string, r = response(), now = NOW) => checkAssertion(a, shape(r), { idpEntityId: IDP, acs: ACS, now });

describe('checkResponse (before the signature check)', () => {
  it('accepts a well-formed response and reports its Destination, InResponseTo and Issuer', () => {
    expect(shape(response())).toEqual({ destination: ACS, inResponseTo: '_req1', issuer: IDP, encrypted: undefined, assertionSigned: true });
  });

  it('refuses a DOCTYPE, XML that is not well-formed, and a message that is not a samlp:Response', () => {
    rejected(() => shape(response({ before: '<!DOCTYPE r [<!ENTITY e "x">]>' })), /DOCTYPE/);
    rejected(() => shape('<samlp:Response'), /not well-formed/);
    rejected(() => shape(`<samlp:LogoutResponse xmlns:samlp="${P}"/>`), /not a samlp:Response/);
  });

  it('refuses a status other than Success, with the IdP status in the reason', () => {
    rejected(() => shape(response({ status: 'urn:oasis:names:tc:SAML:2.0:status:Requester' })), /status "urn:oasis:names:tc:SAML:2\.0:status:Requester"/);
  });

  it('wants exactly one assertion in the whole document, as a child of the Response', () => {
    rejected(() => shape(response({ body: assertion() + assertion() })), /2 assertions and 0 encrypted/);
    rejected(() => shape(response({ body: '' })), /0 assertions and 0 encrypted/);
    rejected(() => shape(response({ body: `<samlp:Extensions>${assertion()}</samlp:Extensions>` })), /not a child of the Response/);
    rejected(() => shape(response({ body: `<saml:EncryptedAssertion/>${assertion()}` })), /1 assertions and 1 encrypted/);
    // The XSW shape: the signed original hidden inside the Signature's Object, a forged one in front.
    const hidden = assertion({ sig: signature().replace('</ds:Signature>', `<ds:Object>${assertion()}</ds:Object></ds:Signature>`) });
    rejected(() => shape(response({ body: hidden })), /2 assertions/);
  });

  it('refuses any XML comment (the NameID truncation family, CVE-2017-11427)', () => {
    rejected(() => shape(response({ body: assertion({ nameId: 'admin@example.com<!---->.evil.com' }) })), /XML comment/);
    rejected(() => shape(response().replace('<samlp:Status>', '<!-- hi --><samlp:Status>')), /XML comment/);
  });

  it('allows SHA-256/384/512 with exclusive or inclusive c14n without comments and the enveloped transform', () => {
    for (const [sig, digest] of [
      [SHA256.sig, SHA256.digest],
      ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', 'http://www.w3.org/2001/04/xmldsig-more#sha384'],
      ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', 'http://www.w3.org/2001/04/xmlenc#sha512'],
    ]) {
      expect(() => shape(response({ body: assertion({ sig: signature({ sig, digest, c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315' }) }) }))).not.toThrow();
    }
  });

  it('refuses SHA-1 unless AllowSHA1, and always c14n with comments, other transforms and several references', () => {
    const sha1 = response({ body: assertion({ sig: signature({ sig: `${DS}rsa-sha1`, digest: `${DS}sha1` }) }) });
    rejected(() => shape(sha1), /signature algorithm .*rsa-sha1.* refused unless the profile sets AllowSHA1/);
    expect(() => shape(sha1, true)).not.toThrow();
    rejected(() => shape(response({ body: assertion({ sig: signature({ digest: `${DS}sha1` }) }) })), /digest algorithm .*sha1/);
    rejected(() => shape(response({ body: assertion({ sig: signature({ sig: `${DS}hmac-sha1` }) }) }), true), /signature algorithm .*hmac-sha1/);
    rejected(() => shape(response({ body: assertion({ sig: signature({ c14n: `${EXC}WithComments` }) }) })), /canonicalization .*WithComments/);
    rejected(() => shape(response({ body: assertion({ sig: signature({ transforms: [ENV, `${EXC}WithComments`] }) }) })), /transform .*WithComments/);
    rejected(() => shape(response({ body: assertion({ sig: signature({ transforms: [ENV, 'http://www.w3.org/TR/1999/REC-xpath-19991116'] }) }) })), /transform .*xpath/);
    rejected(() => shape(response({ body: assertion({ sig: signature({ refs: 2 }) }) })), /2 References/);
  });
});

describe('checkDecryptedAssertion', () => {
  it('checks the decrypted assertion as the response: one assertion, no comment, allowed algorithms', () => {
    expect(checkDecryptedAssertion(assertion(), { allowSha1: false })).toBe(true);
    expect(checkDecryptedAssertion(assertion({ sig: '' }), { allowSha1: false })).toBe(false);
    expect(shape(response({ body: assertion({ sig: '' }) })).assertionSigned).toBe(false);
    rejected(() => checkDecryptedAssertion(assertion({ nameId: 'a<!---->b' }), { allowSha1: false }), /XML comment/);
    rejected(() => checkDecryptedAssertion(assertion({ sig: signature({ sig: `${DS}rsa-sha1` }) }), { allowSha1: false }), /rsa-sha1/);
    rejected(() => checkDecryptedAssertion(`<samlp:Response xmlns:samlp="${P}"/>`, { allowSha1: false }), /does not hold an Assertion/);
  });
});

describe('checkAssertion (after the signature check)', () => {
  it('returns the assertion ID, InResponseTo and how long it could be replayed', () => {
    expect(facts(assertion())).toEqual({ id: 'a1', inResponseTo: '_req1', usableUntil: NOW + 300_000 + CLOCK_SKEW_MS });
  });

  it('wants our ACS as Destination and Recipient, and the IdP of the metadata as Issuer', () => {
    rejected(() => facts(assertion(), response({ destination: 'https://evil.example/acs' })), /Destination "https:\/\/evil\.example\/acs" is not our ACS/);
    rejected(() => facts(assertion(), response({ destination: '' }).replace(' Destination=""', '')), /Destination "\(none\)"/);
    rejected(() => facts(assertion({ recipient: 'https://evil.example/acs' })), /Recipient "https:\/\/evil\.example\/acs" is not our ACS/);
    rejected(() => facts(assertion(), response({ issuer: 'urn:evil' })), /Response Issuer "urn:evil" is not the IdP/);
    rejected(() => facts(assertion({ issuer: 'urn:evil' })), /Assertion Issuer "urn:evil" is not the IdP/);
  });

  it('wants a bearer confirmation that has not expired (clock skew allowed)', () => {
    rejected(() => facts(assertion({ method: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' })), /no bearer SubjectConfirmation/);
    rejected(() => facts(assertion({ notOnOrAfter: null })), /no NotOnOrAfter/);
    rejected(() => facts(assertion({ notOnOrAfter: NOW - CLOCK_SKEW_MS })), /expired/);
    expect(facts(assertion({ notOnOrAfter: NOW - CLOCK_SKEW_MS + 1000 })).id).toBe('a1');
  });

  it("takes InResponseTo from the signed assertion; the Response's must agree", () => {
    expect(facts(assertion({ inResponseTo: '' }), response({ inResponseTo: '' })).inResponseTo).toBe('');
    rejected(() => facts(assertion({ inResponseTo: '' }), response({ inResponseTo: '_attacker' })), /InResponseTo "_attacker" differs from the assertion's "\(none\)"/);
    rejected(() => facts(assertion({ inResponseTo: '_req1' }), response({ inResponseTo: '_req2' })), /differs/);
  });
});
