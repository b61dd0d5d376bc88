/**
 * The identity of a SAML login (docs/tib-behaviour.md §4.4 steps 5-8, issue 10 item 4): email and names from the configured
 * claims, TIB's user id without its stray space, multi-valued attributes kept as lists so group names with
 * spaces map to teams, CustomUserIDField over any attribute (or the NameID).
 */
import { describe, expect, it } from '@jest/globals';
import { groupsToTeams, resolveUserId } from '../support/identity.js';
import { FieldReader } from '../../src/profiles/fields.js';
import { readSamlConfig } from '../../src/providers/saml/saml-config.js';

const parseProviderConfig = (_name: 'SAMLProvider', raw: Record<string, unknown>) => ({ config: readSamlConfig(new FieldReader(raw, 'ProviderConfig', [])) });
import { samlIdentity } from '../../src/providers/saml/saml-identity.js';
import { assertionAttributes } from '../../src/providers/saml/saml-identity.js';
import { NS } from '../support/saml-xml.js';

const WS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const GROUPS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups';
const defaults = parseProviderConfig('SAMLProvider', {}).config;

describe('samlIdentity', () => {
  it('Entra ID shape: email, names, "First Last" user id, provider SAMLProvider', () => {
    const id = samlIdentity(defaults, { [`${WS}/emailaddress`]: 'ada@example.com', [`${WS}/givenname`]: 'Ada', [`${WS}/surname`]: 'Lovelace', [`${WS}/name`]: 'ada@corp.example' }, 'opaque-id');
    expect(id).toMatchObject({ userId: 'Ada Lovelace', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', provider: 'SAMLProvider' });
    expect(id.raw.NameID).toBe('opaque-id');
  });

  it("falls back to WIF's name claim for the email, then to the email for the user id", () => {
    const id = samlIdentity(defaults, { [`${WS}/name`]: 'ada@corp.example' }, 'n');
    expect(id).toMatchObject({ email: 'ada@corp.example', userId: 'ada@corp.example', firstName: '', lastName: '' });
  });

  it('has no stray space when only one name is present (TIB: "Ada " or " Lovelace")', () => {
    expect(samlIdentity(defaults, { [`${WS}/givenname`]: 'Ada' }, '').userId).toBe('Ada');
    expect(samlIdentity(defaults, { [`${WS}/surname`]: 'Lovelace' }, '').userId).toBe('Lovelace');
  });

  it('falls back to the NameID when there is no name and no email (TIB: an empty user id)', () => {
    expect(samlIdentity(defaults, {}, 'persistent-123').userId).toBe('persistent-123');
  });

  it('reads the configured claims (Okta shape)', () => {
    const cfg = parseProviderConfig('SAMLProvider', { SAMLEmailClaim: 'email', SAMLForenameClaim: 'firstName', SAMLSurnameClaim: 'lastName' }).config;
    expect(samlIdentity(cfg, { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' }, 'ada@example.com')).toMatchObject({ email: 'ada@example.com', userId: 'Ada Lovelace' });
  });

  it('keeps multi-valued attributes as lists, single ones as strings, and drops non-text values', () => {
    const id = samlIdentity(defaults, { [GROUPS]: ['CN=Tyk Admins,OU=Groups', 'devs'], dept: 'R&D', complex: { nested: 'x' }, mixed: ['a', { b: 1 }] }, '');
    expect(id.raw[GROUPS]).toEqual(['CN=Tyk Admins,OU=Groups', 'devs']);
    expect(id.raw.dept).toBe('R&D');
    expect(id.raw).not.toHaveProperty('complex');
    expect(id.raw.mixed).toEqual(['a']);
  });

  it('maps a group attribute whose values contain spaces to teams without a separator', () => {
    const id = samlIdentity(defaults, { [GROUPS]: ['CN=Tyk Admins,OU=Groups', 'devs'] }, '');
    const teams = groupsToTeams({ CustomUserGroupField: GROUPS, UserGroupSeparator: '', UserGroupMapping: { 'CN=Tyk Admins,OU=Groups': 'team-admin', devs: 'team-dev' }, DefaultUserGroupID: '' }, id.raw);
    expect(teams).toEqual({ ok: true, value: ['team-admin', 'team-dev'] });
  });

  it('CustomUserIDField names any attribute, or the NameID', () => {
    const id = samlIdentity(defaults, { 'http://schemas.microsoft.com/identity/claims/objectidentifier': 'guid-1', [`${WS}/givenname`]: 'Ada' }, 'persistent-123');
    expect(resolveUserId({ CustomUserIDField: 'http://schemas.microsoft.com/identity/claims/objectidentifier' }, id)).toEqual({ ok: true, value: 'guid-1' });
    expect(resolveUserId({ CustomUserIDField: 'NameID' }, id)).toEqual({ ok: true, value: 'persistent-123' });
    expect(resolveUserId({ CustomUserIDField: '' }, id)).toEqual({ ok: true, value: 'Ada' });
  });

  it('an attribute named NameID wins over the NameID', () => {
    expect(samlIdentity(defaults, { NameID: 'from-attribute' }, 'from-subject').raw.NameID).toBe('from-attribute');
  });
});

describe('assertionAttributes (the attributes read from the signed assertion)', () => {
  const assertion = (attrs: string) =>
    `<saml:Assertion xmlns:saml="${NS.assertion}" ID="_a"><saml:AttributeStatement>${attrs}</saml:AttributeStatement><saml:AttributeStatement><saml:Attribute Name="Role"><saml:AttributeValue>third</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>`;
  it('merges the values of every Attribute with one Name, across AttributeStatements, in document order', () => {
    const xml = assertion('<saml:Attribute Name="Role"><saml:AttributeValue>first</saml:AttributeValue></saml:Attribute><saml:Attribute Name="Role"><saml:AttributeValue>second</saml:AttributeValue></saml:Attribute>');
    expect(assertionAttributes(xml)).toEqual({ Role: ['first', 'second', 'third'] });
  });
  it('drops values with child elements, empty values and nameless attributes; keeps "__proto__" a plain key', () => {
    const xml = assertion(
      '<saml:Attribute Name="x"><saml:AttributeValue><b>nested</b></saml:AttributeValue><saml:AttributeValue/><saml:AttributeValue> kept </saml:AttributeValue></saml:Attribute>' +
        '<saml:Attribute><saml:AttributeValue>nameless</saml:AttributeValue></saml:Attribute><saml:Attribute Name="__proto__"><saml:AttributeValue>p</saml:AttributeValue></saml:Attribute>' +
        '<saml:Attribute Name="foreign"><other:AttributeValue xmlns:other="urn:other">no</other:AttributeValue></saml:Attribute>',
    );
    const out = assertionAttributes(xml);
    expect(out).toEqual({ x: ' kept ', Role: 'third', ['__proto__']: 'p' });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
  });
});
