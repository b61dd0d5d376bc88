import { describe, expect, it } from '@jest/globals';
import { escapeDnValue, escapeFilterValue, fillDn, fillFilter, slugify } from '../../src/providers/ldap/ldap-escape.js';
import { LOGIN_PAGE_HEADERS, renderLoginPage } from '../../src/providers/login-page.js';

describe('RFC 4515 filter escaping', () => {
  it.each([
    ['*', '\\2a'],
    ['*)(uid=*', '\\2a\\29\\28uid=\\2a'],
    ['admin)(|(uid=*', 'admin\\29\\28|\\28uid=\\2a'],
    ['a\\b', 'a\\5cb'],
    ['\u0000', '\\00'],
    ['plain.user@example.org', 'plain.user@example.org'],
  ])('%j -> %j', (input, out) => {
    expect(escapeFilterValue(input)).toBe(out);
  });

  it('fills *USERNAME* and *USERDN* escaped', () => {
    expect(fillFilter('(&(uid=*USERNAME*)(member=*USERDN*))', 'a*', 'uid=a\\2a,dc=x')).toBe('(&(uid=a\\2a)(member=uid=a\\5c2a,dc=x))');
  });
});

describe('RFC 4514 DN escaping', () => {
  it.each([
    [',+"\\<>;', '\\,\\+\\"\\\\\\<\\>\\;'],
    [' lead', '\\ lead'],
    ['#hash', '\\#hash'],
    ['trail ', 'trail\\ '],
    ['a=b', 'a\\=b'],
    ['nul\u0000', 'nul\\00'],
  ])('%j -> %j', (input, out) => {
    expect(escapeDnValue(input)).toBe(out);
  });

  it('fills *USERNAME* in a DN template', () => {
    expect(fillDn('uid=*USERNAME*,ou=people,dc=example,dc=org', 'x,ou=admins')).toBe('uid=x\\,ou\\=admins,ou=people,dc=example,dc=org');
  });
});

describe('slugify (TIB util_slug.go)', () => {
  it.each([
    ['Zoë Müller', 'zoe-muller'],
    ['  John..Smith  ', 'john-smith'],
    ['ALL_CAPS', 'all-caps'],
  ])('%j -> %j', (input, out) => {
    expect(slugify(input)).toBe(out);
  });
});

describe('login page', () => {
  it('escapes everything it echoes and has labelled fields', () => {
    const html = renderLoginPage({ title: '<script>x</script>', action: '/auth/a"b/ldap', message: '<img src=x onerror=alert(1)>', username: '"><script>' });
    expect(html).not.toMatch(/<script>|<img/);
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).toContain('action="/auth/a&quot;b/ldap"');
    expect(html).toContain('<label for="username">');
    expect(html).toContain('autocomplete="current-password"');
    expect(html).toContain('role="alert"');
  });

  it('cannot be framed, and its post may redirect to another origin (no form-action)', () => {
    const csp = LOGIN_PAGE_HEADERS['Content-Security-Policy'];
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('form-action');
    expect(LOGIN_PAGE_HEADERS['X-Frame-Options']).toBe('DENY');
  });
});
