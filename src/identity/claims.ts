/**
 * Email, display name and user id as TIB derives them (spec 5.9), from the identity and the profile's
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

/**
 * CustomEmailField claim, else the provider's email, else TIB's fallback address; but when the profile asks
 * for a claim and neither it nor an email came, the login fails naming the claim. TIB's fallback would sign
 * every such user in as the same Dashboard user.
 */
export function resolveEmail(profile: Pick<Profile, 'CustomEmailField'>, identity: Identity): Result<string> {
  const field = profile.CustomEmailField;
  if (field) {
    const custom = customString(identity.raw, 'CustomEmailField', field);
    if (!custom.ok || custom.value !== '') return custom;
    if (!identity.email) return fail(`CustomEmailField "${field}": the identity provider sent no such claim (and no email)`);
  }
  return ok(identity.email || FALLBACK_EMAIL);
}

/** "First Last", "First", "Last", or the email. */
export function resolveDisplayName(identity: Identity, email: string): string {
  return [identity.firstName, identity.lastName].filter(Boolean).join(' ') || email;
}

/** CustomUserIDField claim, else the provider's user id. */
export function resolveUserId(profile: Pick<Profile, 'CustomUserIDField'>, identity: Identity): Result<string> {
  if (profile.CustomUserIDField) {
    const custom = customString(identity.raw, 'CustomUserIDField', profile.CustomUserIDField);
    if (!custom.ok || custom.value !== '') return custom;
  }
  return ok(identity.userId);
}
