/** Client authentication at token endpoints as TIB's Go client does it: Go's url.QueryEscape, and which methods to try. */
import { describe, expect, it } from '@jest/globals';
import { authPlan, basicAuthorization, goQueryEscape } from '../../src/providers/social/client-auth.js';

describe('goQueryEscape', () => {
  it("matches Go's url.QueryEscape: unreserved kept, space as +, the rest as upper-case %XX of the UTF-8 bytes", () => {
    // Expected values as printed by Go: fmt.Println(url.QueryEscape(s)).
    expect(goQueryEscape('broker-client_1.x~y')).toBe('broker-client_1.x~y');
    expect(goQueryEscape("a b/c+d=e!*'()")).toBe('a+b%2Fc%2Bd%3De%21%2A%27%28%29');
    expect(goQueryEscape(':@?&#%$,;')).toBe('%3A%40%3F%26%23%25%24%2C%3B');
    expect(goQueryEscape('é€')).toBe('%C3%A9%E2%82%AC');
    expect(goQueryEscape('')).toBe('');
  });

  it('never throws, even on a lone surrogate (encodeURIComponent would)', () => {
    expect(goQueryEscape('a\ud800b')).toBe('a%EF%BF%BDb');
  });

  it('builds the Basic header from the escaped id and secret', () => {
    expect(basicAuthorization('my-client', 's3cr/t')).toBe(`Basic ${Buffer.from('my-client:s3cr%2Ft').toString('base64')}`);
  });
});

describe('authPlan', () => {
  it("follows discovery when it lists exactly one of basic and post, else Go's auto-detect (basic, then post)", () => {
    expect(authPlan('s', ['client_secret_post'])).toEqual(['client_secret_post']);
    expect(authPlan('s', ['client_secret_basic', 'private_key_jwt'])).toEqual(['client_secret_basic']);
    expect(authPlan('s', ['client_secret_post', 'client_secret_basic'])).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(authPlan('s', undefined)).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(authPlan('s', ['private_key_jwt'])).toEqual(['client_secret_basic', 'client_secret_post']);
  });

  it('sends no credentials for a client without a secret', () => {
    expect(authPlan('', ['client_secret_basic'])).toEqual(['none']);
  });
});
