/**
 * The Identity of a SAML login (docs/tib-behaviour.md §4.4 steps 5-8), from the attributes of the signed assertion only.
 * Differences from TIB: a multi-valued attribute stays a list (TIB joins the values with spaces, which
 * breaks group names with spaces); the user id "First Last" has no stray space when one name is missing;
 * with no names and no email it falls back to the NameID (TIB's was empty). The NameID is also in `raw`
 * as "NameID" (unless an attribute has that name), so CustomUserIDField can name it.
 */
import type { Identity } from '../../identity/identity.js';
import type { SamlConfig } from './saml-config.js';

/** TIB's fallback email claim (WIF's name claim, which ADFS and Entra ID fill with the UPN). */
export const NAME_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';

/** What node-saml gives: attribute name -> a value or a list of values (complex XML values as objects). */
export type SamlAttributes = Record<string, unknown>;

/** Text values only: a value with child elements (rare, IdP-specific XML) is dropped. */
export function attributeValues(attrs: SamlAttributes): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value)) out[name] = value.filter((v): v is string => typeof v === 'string');
  }
  return out;
}

function first(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

export function samlIdentity(cfg: Pick<SamlConfig, 'SAMLEmailClaim' | 'SAMLForenameClaim' | 'SAMLSurnameClaim'>, attrs: SamlAttributes, nameId: string): Identity {
  const raw: Record<string, unknown> = attributeValues(attrs);
  const email = first(raw[cfg.SAMLEmailClaim] as string | string[] | undefined) || first(raw[NAME_CLAIM] as string | string[] | undefined);
  const firstName = first(raw[cfg.SAMLForenameClaim] as string | string[] | undefined);
  const lastName = first(raw[cfg.SAMLSurnameClaim] as string | string[] | undefined);
  if (nameId !== '' && !Object.hasOwn(raw, 'NameID')) raw.NameID = nameId;
  return {
    userId: [firstName, lastName].filter(Boolean).join(' ') || email || nameId,
    email,
    displayName: [firstName, lastName].filter(Boolean).join(' '),
    firstName,
    lastName,
    raw,
    provider: 'SAMLProvider',
  };
}
