/**
 * Comparing and redacting profiles. Secrets are the values src/providers/registry.ts `profileSecrets` knows
 * (DashboardCredential, OAuth.Secret, LDAPAdminPassword, each UseProviders Secret): an export can replace
 * them, and a diff never prints them.
 */
import type { Profile } from '../profiles/profile.js';
import { quote } from '../profiles/validate.js';
import { builtinProviders } from '../providers/registry.js';

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
  const secrets = new Set(builtinProviders.profileSecrets(p));
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

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Where two JSON values differ, by dotted path: down through objects and arrays both sides hold, so a map
 * that became null is one change at the map ("UserGroupMapping: {...} -> null"), not a line per entry.
 */
function differences(x: unknown, y: unknown, at: string, out: Array<[string, unknown, unknown]>): void {
  if (isObject(x) && isObject(y)) {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) differences(x[k], y[k], at ? `${at}.${k}` : k, out);
  } else if (Array.isArray(x) && Array.isArray(y)) {
    for (let i = 0; i < Math.max(x.length, y.length); i++) differences(x[i], y[i], `${at}[${i}]`, out);
  } else if (JSON.stringify(x) !== JSON.stringify(y)) {
    out.push([at, x, y]);
  }
}

/** The fields that differ between two versions of one profile; secret values are masked. */
export function changedFields(from: Profile, to: Profile): FieldChange[] {
  const secrets = new Set([...builtinProviders.profileSecrets(from), ...builtinProviders.profileSecrets(to), REDACTED]);
  const holdsSecret = (v: unknown) => [...leaves(v).values()].some((x) => typeof x === 'string' && secrets.has(x));
  const found: Array<[string, unknown, unknown]> = [];
  differences(from, to, '', found);
  return found
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([field, x, y]) => ({ field, change: holdsSecret(x) || holdsSecret(y) ? '(secret, differs)' : `${show(x)} -> ${show(y)}` }));
}
