/**
 * The shortest TYK_IB_SESSION_SECRET accepted by the providers that sign a login cookie with it (SocialProvider,
 * SAMLProvider): below 32 characters the cookie's HMAC key can be guessed offline from one signed cookie.
 */
export const MIN_SESSION_SECRET = 32;
