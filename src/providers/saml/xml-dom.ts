/**
 * Strict XML parsing for SAML (metadata and responses) with @xmldom/xmldom, the parser node-saml and
 * xml-crypto use: our checks and the signature check see the same tree (no parser differential).
 * A document type declaration is refused outright (entity expansion, XXE); any parser warning is an error.
 */
import { DOMParser } from '@xmldom/xmldom';

export const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

const ELEMENT = 1;
const COMMENT = 8;
const DOCTYPE = 10;

export class XmlError extends Error {}

export function parseXml(xml: string, what: string): Document {
  // Before parsing: xmldom would otherwise read the internal subset.
  if (/<!DOCTYPE/i.test(xml)) throw new XmlError(`${what} has a DOCTYPE (refused)`);
  const problems: string[] = [];
  const doc = new DOMParser({
    locator: {},
    errorHandler: {
      warning: (m: string) => problems.push(m),
      error: (m: string) => problems.push(m),
      fatalError: (m: string) => problems.push(m),
    },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0 || !doc?.documentElement) throw new XmlError(`${what} is not well-formed XML${problems[0] ? `: ${problems[0].split('\n')[0]?.slice(0, 160)}` : ''}`);
  for (let n = doc.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === DOCTYPE) throw new XmlError(`${what} has a DOCTYPE (refused)`);
  }
  return doc;
}

/** The element children of `parent` with this namespace and local name. */
export function children(parent: Node, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT && (n as Element).namespaceURI === ns && (n as Element).localName === name) out.push(n as Element);
  }
  return out;
}

export function child(parent: Node, ns: string, name: string): Element | undefined {
  return children(parent, ns, name)[0];
}

/** Every descendant element with this namespace and local name, in document order. */
export function descendants(root: Node, ns: string, name: string): Element[] {
  const out: Element[] = [];
  const walk = (n: Node) => {
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.nodeType !== ELEMENT) continue;
      if ((c as Element).namespaceURI === ns && (c as Element).localName === name) out.push(c as Element);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** Does `root` contain an XML comment anywhere below it? */
export function hasComment(root: Node): boolean {
  for (let c = root.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === COMMENT) return true;
    if (c.nodeType === ELEMENT && hasComment(c)) return true;
  }
  return false;
}

export function text(el: Element | undefined): string {
  return (el?.textContent ?? '').trim();
}

export function attr(el: Element | undefined, name: string): string {
  return el?.getAttribute(name) ?? '';
}
