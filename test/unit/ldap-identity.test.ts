import { describe, expect, it } from '@jest/globals';
import { directoryUsername, firstRdnValue, normalizeUsername, usernameAttributes } from '../../src/providers/ldap/ldap-identity.js';

describe('the username as the directory spells it', () => {
  it('normalises what was typed before it reaches a filter or DN: trimmed, composed Unicode (NFC)', () => {
    expect(normalizeUsername('  Zoe\u0308 ')).toBe('Zoë');
    expect(normalizeUsername('ａｌｉｃｅ')).toBe('ａｌｉｃｅ'); // no compatibility folding: that would change the name
  });

  it.each([
    ['(uid=*USERNAME*)', ['uid']],
    ['(&(objectClass=user)(sAMAccountName=*USERNAME*))', ['sAMAccountName']],
    ['(|(uid=*USERNAME*)(mail=*USERNAME*)(uid=*USERNAME*))', ['uid', 'mail']],
    ['(&(cn;lang-en=*USERNAME*)(0.9.2342.19200300.100.1.1=*USERNAME*))', ['cn', '0.9.2342.19200300.100.1.1']],
    ['(mail=*USERNAME*@example.org)', []],
    ['(uid~=*USERNAME*)', []],
    ['', []],
  ])('attributes compared with *USERNAME* in %j', (filter, attrs) => {
    expect(usernameAttributes(filter)).toEqual(attrs);
  });

  it.each([
    ['uid=alice,ou=people,dc=example,dc=org', 'alice'],
    ['UID=a\\,b\\+c,dc=org', 'a,b+c'],
    ['uid=Zo\\C3\\AB M\\c3\\bcller,dc=org', 'Zoë Müller'],
    ['cn=x+uid=y,dc=org', 'x'],
    ['', ''],
  ])('first RDN value of %j', (dn, value) => {
    expect(firstRdnValue(dn)).toBe(value);
  });

  const entry = { dn: 'cn=Alice Admin,ou=people,dc=example,dc=org', uid: ['alice', 'a.admin'], mail: 'alice@example.org' };
  it('takes the value the typed username matches, ignoring case, spaces and Unicode form', () => {
    expect(directoryUsername(entry, ['uid'], 'A.ADMIN')).toBe('a.admin');
    // Only the first attribute the entry has counts, so one entry is one user id whichever name was typed
    // (here uid has two values, neither typed: the RDN value).
    expect(directoryUsername(entry, ['uid', 'mail'], 'Alice@Example.org')).toBe('Alice Admin');
    expect(directoryUsername({ dn: 'cn=A,dc=org', sAMAccountName: 'alice', userPrincipalName: 'alice@corp.example' }, ['sAMAccountName', 'userPrincipalName'], 'ALICE@corp.example')).toBe('alice');
    expect(directoryUsername({ dn: 'cn=A,dc=org', mail: 'alice@example.org' }, ['uid', 'mail'], 'alice@example.org')).toBe('alice@example.org');
    expect(directoryUsername({ dn: 'uid=x,dc=org', uid: 'Zoë' }, ['uid'], 'zoe\u0308')).toBe('Zoë');
  });

  it('else the only value there is, else the RDN value', () => {
    expect(directoryUsername({ dn: 'cn=Zed,dc=org', sAMAccountName: 'zed ' }, ['sAMAccountName'], 'ZED-accent-folded')).toBe('zed');
    expect(directoryUsername(entry, ['uid'], 'someone-else')).toBe('Alice Admin');
    expect(directoryUsername(entry, [], 'ALICE')).toBe('Alice Admin');
  });
});
