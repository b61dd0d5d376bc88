/**
 * The Tyk organisation a Dashboard SSO login goes to (issue 19, item 4; TIB pull request #496's fields, which
 * TIB has only in that unmerged pull request): CustomUserOrgField names the claim or LDAP attribute,
 * OrgMapping maps its value to an organisation ID, DefaultOrgID is used when the claim is absent or unmapped.
 * An empty CustomUserOrgField keeps the profile's OrgID, as TIB does (docs/tib-behaviour.md §5.3).
 * Pure: no I/O, no clock.
 */
import type { Derived } from './claims.js';
import { fail, ok, typeName, type Result } from './result.js';

/** The profile's organisation settings; the three new keys are optional until a profile carries them. */
export interface OrgSettings {
  OrgID: string;
  CustomUserOrgField?: string;
  OrgMapping?: Record<string, string> | null;
  DefaultOrgID?: string;
}

/**
 * The organisation ID and the rule that gave it. An absent or unmapped claim with no DefaultOrgID refuses the
 * login: falling back to the profile's OrgID would silently put the user in another organisation. A claim that
 * is a list takes its first mapped value (in IdP order), as group mapping takes teams in IdP order.
 */
export function resolveOrgRule(settings: OrgSettings, raw: Record<string, unknown>): Result<Derived<string>> {
  const field = settings.CustomUserOrgField ?? '';
  if (!field) return ok({ value: settings.OrgID, rule: 'the profile\'s OrgID (no CustomUserOrgField)' });
  const fallback = (why: string): Result<Derived<string>> =>
    settings.DefaultOrgID
      ? ok({ value: settings.DefaultOrgID, rule: `DefaultOrgID (${why})` })
      : fail(`CustomUserOrgField "${field}": ${why}, and the profile has no DefaultOrgID`);
  const v = raw[field];
  if (v === undefined || v === null || v === '') return fallback('no such claim');
  const values = Array.isArray(v) ? v : [v];
  const bad = values.find((x) => typeof x !== 'string');
  if (bad !== undefined) return fail(`CustomUserOrgField "${field}" is ${typeName(bad)}, expected a string or an array of strings`);
  const mapping = settings.OrgMapping ?? {};
  for (const value of values as string[]) {
    if (Object.hasOwn(mapping, value) && mapping[value]) return ok({ value: mapping[value], rule: `OrgMapping: CustomUserOrgField "${field}" is ${JSON.stringify(value)}` });
  }
  return fallback(`no value is in OrgMapping (${values.length === 1 ? JSON.stringify(values[0]) : `${values.length} values`})`);
}
