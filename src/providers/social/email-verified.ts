/**
 * Whether the email a provider gives is verified. The Dashboard and Portal sign users in by email, so an
 * address the provider has not verified could be anyone's (oauth2-proxy refuses it the same way).
 */

/** A verified flag as IdPs send it: a boolean, or a string "true"/"false" (some IdPs, any case). */
export function verifiedFlag(v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === true || (typeof v === 'string' && v.trim().toLowerCase() === 'true')) return true;
  return false; // "false", and anything else (fail closed)
}

export interface OidcEmail {
  email: string;
  /** true/false as stated by the source of `email`; undefined when that source says nothing. */
  verified: boolean | undefined;
  /** Why the email counts as unverified, for the log (when verified is false). */
  why?: string;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * The email used for an OIDC login and its own verified flag. Userinfo's email wins, as in TIB, but only with
 * the flag of the same source: the id_token's `email_verified` is about the id_token's address. Userinfo's
 * address without its own flag takes the id_token's flag when it is the same address; when it differs and
 * the id_token did state a flag, the address counts as unverified (this IdP states flags, not for this one).
 * An IdP that never sends the flag (e.g. Entra ID) is taken at its word, as TIB does.
 */
export function oidcEmail(idToken: Record<string, unknown>, userinfo: Record<string, unknown> | undefined): OidcEmail {
  const idEmail = str(idToken.email);
  const idFlag = verifiedFlag(idToken.email_verified);
  const uiEmail = str(userinfo?.email);
  const flagged = (email: string, verified: boolean | undefined, source: string): OidcEmail =>
    verified === false ? { email, verified, why: `email_verified: ${JSON.stringify(source === 'id_token' ? idToken.email_verified : userinfo?.email_verified)} in the ${source}` } : { email, verified };
  if (!uiEmail) return flagged(idEmail, idFlag, 'id_token');
  const uiFlag = verifiedFlag(userinfo?.email_verified);
  if (uiFlag !== undefined) return flagged(uiEmail, uiFlag, 'userinfo');
  if (uiEmail.toLowerCase() === idEmail.toLowerCase()) return flagged(uiEmail, idFlag, 'id_token');
  if (idFlag === undefined) return { email: uiEmail, verified: undefined };
  return { email: uiEmail, verified: false, why: "userinfo gives another address than the id_token's, without an email_verified of its own" };
}
