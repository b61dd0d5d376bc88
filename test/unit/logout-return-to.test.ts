/**
 * `return_to` of `GET /auth/{id}/logout` (src/profiles/logout-keys.ts allowedReturnTo): only an exact URL of the
 * profile's LogoutRedirectURLs (default: the origin root of ReturnURL), and the answer is always the list's own
 * entry, never the client's string: no open redirect, whatever the input.
 */
import { describe, expect, it } from '@jest/globals';
import { allowedReturnTo, logoutTargets } from '../../src/profiles/logout-keys.js';

const listed = { ReturnURL: 'https://dashboard.example.com/tap', LogoutRedirectURLs: ['https://portal.example.com/', 'https://portal.example.com/signed-out?x=1'] };
const byDefault = { ReturnURL: 'https://dashboard.example.com:8443/tap?x=1' };

describe('allowedReturnTo', () => {
  it('absent or empty: the first allowed URL; the default list is the origin root of ReturnURL', () => {
    expect(allowedReturnTo(listed, undefined)).toBe('https://portal.example.com/');
    expect(allowedReturnTo(listed, '')).toBe('https://portal.example.com/');
    expect(logoutTargets(byDefault)).toEqual(['https://dashboard.example.com:8443/']);
    expect(allowedReturnTo(byDefault, undefined)).toBe('https://dashboard.example.com:8443/');
    expect(allowedReturnTo({ ReturnURL: '' }, undefined)).toBeNull();
    expect(allowedReturnTo({ ReturnURL: '' }, 'https://evil.example/')).toBeUndefined();
  });

  it('an allowed URL, exactly (after URL normalisation), is the list\'s own string', () => {
    expect(allowedReturnTo(listed, 'https://portal.example.com/signed-out?x=1')).toBe('https://portal.example.com/signed-out?x=1');
    expect(allowedReturnTo(listed, 'HTTPS://PORTAL.example.com:443/')).toBe('https://portal.example.com/');
    expect(allowedReturnTo(byDefault, 'https://dashboard.example.com:8443/')).toBe('https://dashboard.example.com:8443/');
  });

  it.each([
    ['another host', 'https://evil.example/'],
    ['a host that ends like ours', 'https://portal.example.com.evil.example/'],
    ['a host that starts like ours', 'https://evilportal.example.com/'],
    ['scheme-relative', '//evil.example/'],
    ['scheme-relative to our host', '//portal.example.com/'],
    ['a path only', '/'],
    ['javascript:', 'javascript:alert(document.cookie)'],
    ['JavaScript: with a tab', 'java\tscript:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['backslashes', 'https:\\\\evil.example\\'],
    ['a backslash after our host', 'https://portal.example.com\\@evil.example/'],
    ['userinfo', 'https://portal.example.com@evil.example/'],
    ['userinfo with our URL in it', 'https://portal.example.com:x@evil.example/'],
    ['encoded slashes', 'https:%2F%2Fevil.example/'],
    ['an encoded host', 'https://%65vil.example/'],
    ['a newline', 'https://portal.example.com/\nLocation: https://evil.example/'],
    ['a leading space', ' https://portal.example.com/'],
    ['a fragment', 'https://portal.example.com/#https://evil.example/'],
    ['http instead of https', 'http://portal.example.com/'],
    ['another port', 'https://portal.example.com:444/'],
    ['another path', 'https://portal.example.com/evil'],
    ['another query', 'https://portal.example.com/signed-out?x=2'],
    ['a prefix of an allowed one', 'https://portal.example.com/signed-out'],
    ['an allowed one with more', 'https://portal.example.com/signed-out?x=1&next=https://evil.example/'],
    ['a NUL', 'https://portal.example.com/\u0000'],
    ['very long', `https://portal.example.com/${'a'.repeat(5000)}`],
  ])('refuses %s', (_what, value) => {
    expect(allowedReturnTo(listed, value)).toBeUndefined();
  });

  it('refuses what is not a string (repeated parameters, objects)', () => {
    expect(allowedReturnTo(listed, ['https://portal.example.com/', 'https://evil.example/'])).toBeUndefined();
    expect(allowedReturnTo(listed, { href: 'https://portal.example.com/' })).toBeUndefined();
  });
});
