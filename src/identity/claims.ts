/**
 * Email, display name and user id as TIB derives them (docs/tib-behaviour.md §5.9), from the identity and the profile's
 * Custom*Field settings. A claim of the wrong type is a failure with a reason (TIB panics).
 */
import type { Profile } from '../profiles/profile.js';
import type { Identity } from './identity.js';
import { fail, ok, typeName, type Result } from './result.js';

/** TIB's last-resort email when neither the claim nor the provider gives one. */
export const FALLBACK_EMAIL = 'ssoSession@ssoSession.com';

function customString(raw: Record<string, unknown>, setting: string, field: string): Result<string> {
  const v = raw[field];
  if (v === undefined || v === null) return ok('');
  if (typeof v !== 'string') return fail(`${setting} "${field}" is ${typeName(v)}, expected a string`);
  return ok(v);
}

/** A derived value and the rule that gave it, for explanations (src/identity/explain.ts). */
export interface Derived<T> {
  value: T;
  rule: string;
}

/**
 * CustomEmailField claim, else the provider's email, else TIB's fallback address; but when the profile asks
 * for a claim and neither it nor an email came, the login fails naming the claim. TIB's fallback would sign
 * every such user in as the same Dashboard user.
 */
export function resolveEmailRule(profile: Pick<Profile, 'CustomEmailField'>, identity: Identity): Result<Derived<string>> {
  const field = profile.CustomEmailField;
  if (field) {
    const custom = customString(identity.raw, 'CustomEmailField', field);
    if (!custom.ok) return custom;
    if (custom.value !== '') return ok({ value: custom.value, rule: `CustomEmailField "${field}"` });
    if (!identity.email) return fail(`CustomEmailField "${field}": the identity provider sent no such claim (and no email)`);
  }
  const given = identity.emailRule ?? "the provider's email";
  if (identity.email) return ok({ value: identity.email, rule: field ? `${given} (CustomEmailField "${field}" is absent or empty)` : given });
  return ok({ value: FALLBACK_EMAIL, rule: "TIB's fallback address (no email from the provider)" });
}

/** "First Last", "First", "Last", or the email. */
export function resolveDisplayName(identity: Identity, email: string): string {
  return [identity.firstName, identity.lastName].filter(Boolean).join(' ') || email;
}

/** CustomUserIDField claim, else the provider's user id; with the rule that gave the id. */
export function resolveUserIdRule(profile: Pick<Profile, 'CustomUserIDField'>, identity: Identity): Result<Derived<string>> {
  const field = profile.CustomUserIDField;
  if (field) {
    const custom = customString(identity.raw, 'CustomUserIDField', field);
    if (!custom.ok) return custom;
    if (custom.value !== '') return ok({ value: custom.value, rule: `CustomUserIDField "${field}"` });
  }
  return ok({ value: identity.userId, rule: field ? `the provider's user id (CustomUserIDField "${field}" is absent or empty)` : "the provider's user id" });
}
