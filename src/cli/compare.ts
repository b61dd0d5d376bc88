/**
 * Comparing and redacting profiles. Secrets are the values src/profiles/validate.ts `profileSecrets` knows
 * (DashboardCredential, OAuth.Secret, LDAPAdminPassword, each UseProviders Secret): an export can replace
 * them, and a diff never prints them.
 */
import type { Profile } from '../profiles/profile.js';
import { profileSecrets, quote } from '../profiles/validate.js';

/** What an export puts in place of a secret; an import refuses a profile that still holds it. */
export const REDACTED = '[redacted]';

/** Every leaf of a JSON value by dotted path (`ProviderConfig.UseProviders[0].Secret`). */
export function leaves(value: unknown, at = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, p: string) => {
    if (Array.isArray(v) && v.length > 0) v.forEach((x, i) => walk(x, `${p}[${i}]`));
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    } else out.set(p, v);
  };
  walk(value, at);
  return out;
}

/** Key order does not matter (JSON objects are unordered); array order does. */
export function sameProfile(a: Profile, b: Profile): boolean {
  const la = leaves(a);
  const lb = leaves(b);
  return la.size === lb.size && [...la].every(([k, v]) => lb.has(k) && JSON.stringify(lb.get(k)) === JSON.stringify(v));
}

/** A copy with every secret value replaced by REDACTED. */
export function redact(p: Profile): Profile {
  const secrets = new Set(profileSecrets(p));
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return secrets.has(v) ? REDACTED : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(p) as Profile;
}

/** The fields of a profile that still hold REDACTED (an export made with --redact). */
export function redactedFields(p: Profile): string[] {
  return [...leaves(p)].filter(([, v]) => v === REDACTED).map(([k]) => k);
}

export interface FieldChange {
  field: string;
  /** "a" -> "b", or "(secret, differs)". */
  change: string;
}

const show = (v: unknown) => (v === undefined ? '(absent)' : typeof v === 'string' ? quote(v) : JSON.stringify(v));

/** The fields that differ between two versions of one profile; secret values are masked. */
export function changedFields(from: Profile, to: Profile): FieldChange[] {
  const secrets = new Set([...profileSecrets(from), ...profileSecrets(to), REDACTED]);
  const a = leaves(from);
  const b = leaves(to);
  const fields = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: FieldChange[] = [];
  for (const field of fields) {
    const x = a.get(field);
    const y = b.get(field);
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    const secret = (typeof x === 'string' && secrets.has(x)) || (typeof y === 'string' && secrets.has(y));
    out.push({ field, change: secret ? '(secret, differs)' : `${show(x)} -> ${show(y)}` });
  }
  return out;
}
