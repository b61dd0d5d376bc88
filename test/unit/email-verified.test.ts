/** Which email an OIDC login uses and whether it counts as verified (issue 8 item 6). */
import { describe, expect, it } from '@jest/globals';
import { oidcEmail, verifiedFlag } from '../../src/providers/social/email-verified.js';

describe('verifiedFlag', () => {
  it.each([
    [true, true],
    ['true', true],
    [' TRUE ', true],
    [false, false],
    ['false', false],
    ['False', false],
    ['yes', false],
    [1, false],
    [undefined, undefined],
    [null, undefined],
  ])('%j -> %j', (v, expected) => {
    expect(verifiedFlag(v)).toBe(expected);
  });
});

describe('oidcEmail', () => {
  const A = 'alice@example.com';
  const B = 'bob@example.com';

  it("without userinfo: the id_token's email and flag", () => {
    expect(oidcEmail({ email: A, email_verified: true }, undefined)).toEqual({ email: A, verified: true });
    expect(oidcEmail({ email: A, email_verified: 'false' }, undefined)).toEqual({ email: A, verified: false, why: 'email_verified: "false" in the id_token' });
    expect(oidcEmail({ email: A }, undefined)).toEqual({ email: A, verified: undefined });
  });

  it("userinfo's email wins, with its own flag", () => {
    expect(oidcEmail({ email: A, email_verified: true }, { email: B, email_verified: 'false' })).toEqual({ email: B, verified: false, why: 'email_verified: "false" in the userinfo' });
    expect(oidcEmail({}, { email: B, email_verified: true })).toEqual({ email: B, verified: true });
  });

  it("userinfo's email without a flag takes the id_token's only for the same address", () => {
    expect(oidcEmail({ email: A, email_verified: true }, { email: 'Alice@Example.com' })).toEqual({ email: 'Alice@Example.com', verified: true });
    expect(oidcEmail({ email: A, email_verified: false }, { email: A })).toMatchObject({ email: A, verified: false });
    expect(oidcEmail({ email: A, email_verified: true }, { email: B })).toMatchObject({ email: B, verified: false, why: expect.stringContaining('another address') });
    expect(oidcEmail({ email_verified: true }, { email: B })).toMatchObject({ email: B, verified: false });
  });

  it('an IdP that never states the flag is taken at its word (as TIB)', () => {
    expect(oidcEmail({ email: A }, { email: B })).toEqual({ email: B, verified: undefined });
    expect(oidcEmail({}, { email: B })).toEqual({ email: B, verified: undefined });
  });

  it("an empty userinfo email leaves the id_token's", () => {
    expect(oidcEmail({ email: A, email_verified: true }, { email: '' })).toEqual({ email: A, verified: true });
  });
});
