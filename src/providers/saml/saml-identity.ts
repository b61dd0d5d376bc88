/**
 * The Identity of a SAML login (docs/tib-behaviour.md §4.4 steps 5-8), from the attributes of the signed assertion only.
 * Differences from TIB: a multi-valued attribute stays a list (TIB joins the values with spaces, which
 * breaks group names with spaces); the user id "First Last" has no stray space when one name is missing;
 * with no names and no email it falls back to the NameID (TIB's was empty). The NameID is also in `raw`
 * as "NameID" (unless an attribute has that name), so CustomUserIDField can name it.
 */
import { attr, children, NS, parseXml } from './xml-dom.js';

// What explain and validation use lives in saml-claims.ts, which loads no XML library (src/providers/saml/module.ts).
export { attributeValues, NAME_CLAIM, samlIdentity, type SamlAttributes } from './saml-claims.js';

const ELEMENT = 1;

function hasElementChild(el: Element): boolean {
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === ELEMENT) return true;
  return false;
}

/**
 * The attributes of the signed assertion: name -> its text value, or the list of its values. Every Attribute
 * element with the same Name adds its values (Keycloak sends one `Role` Attribute per role; node-saml's
 * profile keeps only the last). Values with child elements, and empty ones, are dropped.
 */
export function assertionAttributes(assertionXml: string): Record<string, string | string[]> {
  const assertion = parseXml(assertionXml, 'the signed assertion').documentElement;
  const values = new Map<string, string[]>();
  for (const statement of children(assertion, NS.saml, 'AttributeStatement')) {
    for (const attribute of children(statement, NS.saml, 'Attribute')) {
      const name = attr(attribute, 'Name');
      if (name === '') continue;
      const list = values.get(name) ?? [];
      for (const v of children(attribute, NS.saml, 'AttributeValue')) {
        const text = v.textContent ?? '';
        if (text !== '' && !hasElementChild(v)) list.push(text);
      }
      values.set(name, list);
    }
  }
  // fromEntries defines own properties: a Name such as "__proto__" stays a plain key.
  return Object.fromEntries([...values].filter(([, l]) => l.length > 0).map(([n, l]) => [n, l.length === 1 ? (l[0] as string) : l]));
}
