/**
 * Profile decoding and validation. Decoding follows TIB (Go encoding/json: case-insensitive top-level and
 * ProviderConfig keys, exact-case IdentityHandlerConfig keys, absent fields as zero values); validation is
 * ours: everything TIB would accept and then fail on (or panic on) at login time is an error at load time,
 * naming the file, the profile and the field.
 */
import { hostAllowed } from '../config/allowed-hosts.js';
import { didYouMean } from '../config/suggest.js';
import { quoteForLog } from '../log.js';
import { FieldReader, isHttpUrl, isPlainObject, type FieldError } from './fields.js';
import { handlerConfig, readHandlerConfig } from './handler-config.js';
import { checkLogoutKeys, readLogoutKeys } from './logout-keys.js';
import { readPortalKeys } from './portal-keys.js';
import { ACTION_TYPES, orderedProfile, type ActionType, type Profile } from './profile.js';

export interface ProfileProblem {
  file?: string;
  /** The profile's ID, or "" when it has none. */
  profileId: string;
  /** Position in the file's array (0-based). */
  index: number;
  /** Dotted field path, or "" for the profile as a whole. */
  field: string;
  message: string;
}

/**
 * What validation asks of the providers: their names, and each ProviderConfig read by its module
 * (src/providers/registry.ts is the implementation; an interface here keeps profiles/ below providers/).
 */
export interface ProviderCatalogue {
  readonly names: string[];
  /** The profile's ProviderConfig read by its module, or undefined for an unknown ProviderName. */
  read(
    providerName: string,
    raw: Record<string, unknown> | null,
  ): {
    errors: FieldError[];
    unknownKeys: string[];
    knownKeys: string[];
    hosts: ReadonlyArray<{ field: string; host: string }>;
    /** The logout the provider offers (ProviderModule.logout); undefined: none. */
    logout?: { backChannel: boolean };
  } | undefined;
}

/** What validation needs from tib.conf and the broker. */
export interface ValidationRules {
  /** `AllowedIdPHosts`: when non-empty, every host a profile connects to must match an entry. */
  allowedHosts?: readonly string[];
  /** The providers profiles may name: TIB's, and any the embedding application registered. */
  providers: ProviderCatalogue;
}

/**
 * Profile IDs appear in URLs, in the Basic-auth realm header and in log lines: a safe set keeps quotes,
 * control characters and terminal escapes out of all three (the portal guide already says "no spaces").
 */
const ID_RULE = /^[A-Za-z0-9._@-]{1,128}$/;
/** `POST /api/profiles/save` writes the running set to disk (TIB's route), so no API call could create it. */
const RESERVED_IDS = ['save'];
/** Names JavaScript objects already have: as a key of a plain object (a store's map, a parsed hash) the profile would vanish. */
const PROTOTYPE_IDS = ['__proto__', 'constructor', 'prototype'];
/** Far beyond any real profile; bounds the recursion of everything that walks a profile. */
export const MAX_DEPTH = 32;

export interface ValidationResult {
  profiles: Profile[];
  problems: ProfileProblem[];
  warnings: ProfileProblem[];
}

/**
 * A value from a profile, quoted for a message or log line: JSON escapes plus the C1 controls, line
 * separators and bidi overrides JSON leaves alone, so no ID can inject a terminal escape or fake a line.
 * Cut at 130 characters.
 */
export function quote(value: string): string {
  const cut = value.length > 130 ? `${value.slice(0, 130)}...` : value;
  return quoteForLog(cut);
}

/** `profiles.json: profile "ldap-dev" (#2): ProviderConfig.LDAPPort: must be a string, got number` */
export function formatProblem(p: ProfileProblem): string {
  const where = p.profileId ? `profile ${quote(p.profileId)} (#${p.index + 1})` : `profile #${p.index + 1}`;
  if (p.index < 0) return `${p.file ? `${p.file}: ` : ''}${p.message}`;
  return `${p.file ? `${p.file}: ` : ''}${where}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

/** The IdentityHandlerConfig the action needs, beyond what handler-config.ts reads for every action. */
function checkHandlerConfig(raw: Record<string, unknown>, action: ActionType, errors: FieldError[], warnings: FieldError[]): void {
  const at = 'IdentityHandlerConfig';
  const c = readHandlerConfig(raw, errors, warnings);
  const credential = c.DashboardCredential;
  if (action === 'GenerateOAuthTokenForClient') {
    for (const k of ['ClientId', 'APIListenPath', 'BaseAPIID', 'RedirectURI', 'ResponseType'] as const) {
      if (!c.OAuth[k]) errors.push({ field: `${at}.OAuth.${k}`, message: `is required for ${action}` });
    }
    const rt = c.OAuth.ResponseType;
    if (rt && !['token', 'code', 'authorization_code'].includes(rt)) {
      errors.push({ field: `${at}.OAuth.ResponseType`, message: `must be "token" or "authorization_code", got ${JSON.stringify(rt)}` });
    }
    const listen = c.OAuth.APIListenPath;
    // It becomes the path of a Gateway call: a query, a fragment or a dot segment would send it elsewhere.
    const unsafe = [...listen].some((ch) => '?#'.includes(ch) || /\s/.test(ch) || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
    if (unsafe || listen.split('/').some((seg) => seg === '.' || seg === '..')) {
      errors.push({ field: `${at}.OAuth.APIListenPath`, message: `must be the API's listen path (no "?", "#", spaces or "."/".." segments), got ${quote(listen)}` });
    }
    // The previous token is deleted through the Dashboard, with this credential.
    if (!c.DisableOneTokenPerAPI && !credential) {
      errors.push({ field: `${at}.DashboardCredential`, message: `is required for ${action} to delete the user's previous token (or set DisableOneTokenPerAPI: true)` });
    }
  }
  if (action === 'GenerateTemporaryAuthToken') {
    if (!c.TokenAuth.BaseAPIID) errors.push({ field: `${at}.TokenAuth.BaseAPIID`, message: `is required for ${action}` });
    // POST /api/keys is a Dashboard user's call.
    if (!credential) errors.push({ field: `${at}.DashboardCredential`, message: `is required for ${action} (a Dashboard user's API key)` });
  }
}

type OrgKeys = Pick<Profile, 'CustomUserOrgField' | 'OrgMapping' | 'DefaultOrgID'>;

/**
 * The Dashboard organisation keys (src/identity/org.ts), kept only when set: a profile without them stays
 * TIB's, on disk and on the wire. They matter to Dashboard SSO only, and to nothing without CustomUserOrgField.
 */
function readOrgKeys(r: FieldReader, actionType: string, warnings: FieldError[]): OrgKeys {
  const out: OrgKeys = {};
  if (r.has('CustomUserOrgField')) out.CustomUserOrgField = r.string('CustomUserOrgField');
  if (r.has('OrgMapping')) {
    out.OrgMapping = r.stringMap('OrgMapping');
    const empty = Object.keys(out.OrgMapping).find((k) => out.OrgMapping?.[k] === '');
    if (empty !== undefined) r.error('OrgMapping', `the value of ${quote(empty)} must be an organisation ID, got ""`);
  }
  if (r.has('DefaultOrgID')) out.DefaultOrgID = r.string('DefaultOrgID');
  const set = Object.keys(out) as (keyof OrgKeys)[];
  if (set.length === 0) return out;
  if (actionType !== 'GenerateOrLoginUserProfile') {
    for (const k of set) warnings.push({ field: k, message: `only GenerateOrLoginUserProfile (Dashboard SSO) reads it, ignored for ${actionType}` });
  } else if (!out.CustomUserOrgField) {
    for (const k of set.filter((x) => x !== 'CustomUserOrgField')) warnings.push({ field: k, message: "ignored without CustomUserOrgField: the profile's OrgID is used" });
  }
  return out;
}

/**
 * Where a profile first nests objects or arrays deeper than `max` levels (the profile itself is level 1),
 * as a field path cut to its first three steps; undefined when it does not.
 */
function tooDeep(root: Record<string, unknown>, max: number): string | undefined {
  // Iterative on purpose: a recursive walk is what a hostile depth would overflow.
  const stack: Array<[unknown, string, number]> = Object.entries(root).map(([k, v]) => [v, k, 2]);
  while (stack.length > 0) {
    const [v, at, depth] = stack.pop() as [unknown, string, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return at;
    // Only the first three steps are kept: the full path of a hostile value can be huge.
    const step = (k: string) => (depth < 4 ? `${at}${k}` : at);
    const entries = Array.isArray(v) ? v.map((x, i) => [`[${i}]`, x] as const) : Object.entries(v).map(([k, x]) => [`.${k}`, x] as const);
    for (const [k, x] of entries) stack.push([x, step(k), depth + 1]);
  }
  return undefined;
}

/** The credentials an action's IdentityHandlerConfig holds (its provider's: src/providers/registry.ts profileSecrets). */
export function actionSecrets(p: Profile): string[] {
  const c = handlerConfig(p);
  // A profile's own Tyk targets carry secrets too (src/profiles/tyk-settings.ts).
  const own = p.TykAPISettings;
  return [c.DashboardCredential, c.OAuth.Secret, own?.DashboardConfig?.AdminSecret ?? '', own?.GatewayConfig?.AdminSecret ?? '', own?.PortalAPIConfig?.AdminToken ?? ''];
}

/** Decode and check one profile. `profile` is set when there are no errors. */
export function validateProfile(
  raw: unknown,
  ctx: { file?: string; index: number; rules: ValidationRules },
): { profile?: Profile; problems: ProfileProblem[]; warnings: ProfileProblem[] } {
  const errors: FieldError[] = [];
  const warns: FieldError[] = [];
  const wrap = (id: string, list: FieldError[]) => list.map((e) => ({ file: ctx.file, profileId: id, index: ctx.index, field: e.field, message: e.message }));
  if (!isPlainObject(raw)) {
    return { problems: wrap('', [{ field: '', message: `must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw}` }]), warnings: [] };
  }
  const r = new FieldReader(raw, '', errors);
  const id = r.string('ID');
  const deep = tooDeep(raw, MAX_DEPTH);
  if (deep !== undefined) {
    return { problems: wrap(id, [{ field: deep, message: `is nested more than ${MAX_DEPTH} levels deep` }]), warnings: [] };
  }
  if (id === '') r.error('ID', 'is required');
  else if (!ID_RULE.test(id)) r.error('ID', `must be 1 to 128 letters, digits, ".", "_", "-" or "@" (no spaces, quotes or control characters), got ${quote(id)}`);
  else if (RESERVED_IDS.includes(id)) r.error('ID', `"${id}" is reserved: POST /api/profiles/save saves the profile set to disk, so the admin API could never create it`);
  else if (PROTOTYPE_IDS.includes(id)) r.error('ID', `"${id}" is reserved: it names a property every JavaScript object has, so no store could keep it apart`);

  const providerName = r.string('ProviderName');
  const known = ctx.rules.providers.names;
  if (!known.includes(providerName)) {
    r.error('ProviderName', `must be one of ${known.join(', ')} (case-sensitive), got ${JSON.stringify(providerName)}${didYouMean(providerName, known)}`);
  }
  const actionType = r.string('ActionType');
  if (!(ACTION_TYPES as readonly string[]).includes(actionType)) {
    r.error('ActionType', `must be one of ${ACTION_TYPES.join(', ')} (case-sensitive), got ${JSON.stringify(actionType)}${didYouMean(actionType, ACTION_TYPES)}`);
  }

  const objectOrNull = (key: string): Record<string, unknown> | null => {
    const v = r.value(key);
    if (v === undefined) return null;
    if (!isPlainObject(v)) {
      r.error(key, `must be an object, got ${Array.isArray(v) ? 'array' : typeof v}`);
      return null;
    }
    return v;
  };
  // A frozen copy: its module reads it once (src/providers/registry.ts parse, memoised per object) and the
  // runtime builds the provider from that same reading.
  const rawProviderConfig = objectOrNull('ProviderConfig');
  const providerConfig = rawProviderConfig && deepFreeze(structuredClone(rawProviderConfig));
  const rawHandlerConfig = objectOrNull('IdentityHandlerConfig');
  const identityHandlerConfig = rawHandlerConfig && deepFreeze(structuredClone(rawHandlerConfig));
  const mapping = r.has('UserGroupMapping') ? r.stringMap('UserGroupMapping') : null;

  // The portal's SSO-profile schema flattens the constraints; accept both shapes.
  const pc = r.object('ProviderConstraints');
  const constraints = {
    Domain: pc.string('Domain') || r.string('ProviderConstraintsDomain'),
    Group: pc.string('Group') || r.string('ProviderConstraintsGroup'),
  };

  const returnURL = r.string('ReturnURL');
  if (returnURL !== '' && !isHttpUrl(returnURL)) r.error('ReturnURL', `must be an absolute http or https URL, got ${JSON.stringify(returnURL)}`);

  const profile = {
    ID: id,
    Name: r.string('Name'),
    OrgID: r.string('OrgID'),
    ActionType: actionType as ActionType,
    MatchedPolicyID: r.string('MatchedPolicyID'),
    Type: r.string('Type'),
    ProviderName: providerName,
    CustomEmailField: r.string('CustomEmailField'),
    CustomUserIDField: r.string('CustomUserIDField'),
    ProviderConfig: providerConfig,
    IdentityHandlerConfig: identityHandlerConfig,
    ProviderConstraints: constraints,
    ReturnURL: returnURL,
    DefaultUserGroupID: r.string('DefaultUserGroupID'),
    CustomUserGroupField: r.string('CustomUserGroupField'),
    UserGroupMapping: mapping,
    UserGroupSeparator: r.string('UserGroupSeparator'),
    SSOOnlyForRegisteredUsers: r.bool('SSOOnlyForRegisteredUsers'),
    ...readOrgKeys(r, actionType, warns),
    ...readPortalKeys(r, actionType, mapping, r.string('DefaultUserGroupID'), errors, warns),
    ...readLogoutKeys(r),
  } satisfies Profile;
  // Warnings, not errors: TIB ignores unknown keys and exported files carry extra ones (the Dashboard's, ...).
  for (const k of r.unknownKeys()) warns.push({ field: k, message: `unknown key, ignored${didYouMean(k, r.knownKeys())}` });

  const parsed = ctx.rules.providers.read(providerName, providerConfig);
  if (parsed) {
    errors.push(...parsed.errors);
    const allowed = ctx.rules.allowedHosts ?? [];
    if (allowed.length > 0) {
      for (const { field, host } of parsed.hosts) {
        if (!hostAllowed(host, allowed)) errors.push({ field, message: `host ${JSON.stringify(host)} is not in AllowedIdPHosts (tib.conf)` });
      }
    }
    for (const k of parsed.unknownKeys) {
      warns.push({ field: k, message: `not an option of ${providerName}, ignored${didYouMean(k.replace(/^ProviderConfig\./, ''), parsed.knownKeys)}` });
    }
    checkLogoutKeys(profile, providerName, parsed.logout, errors, warns);
  }
  if (identityHandlerConfig && (ACTION_TYPES as readonly string[]).includes(actionType)) {
    checkHandlerConfig(identityHandlerConfig, actionType as ActionType, errors, warns);
  } else if (actionType === 'GenerateOAuthTokenForClient' || actionType === 'GenerateTemporaryAuthToken') {
    errors.push({ field: 'IdentityHandlerConfig', message: `is required for ${actionType}` });
  }

  const ordered = orderedProfile(profile) as unknown as Profile;
  return { profile: errors.length === 0 ? freezeProfile(ordered) : undefined, problems: wrap(id, errors), warnings: wrap(id, warns) };
}

/** Decode and check a whole profiles file (a JSON array). Duplicate IDs name both positions. */
export function validateProfileList(raw: unknown, file: string | undefined, rules: ValidationRules): ValidationResult {
  if (!Array.isArray(raw)) {
    return { profiles: [], problems: [{ file, profileId: '', index: -1, field: '', message: 'the profiles file must be a JSON array of profiles' }], warnings: [] };
  }
  const out: ValidationResult = { profiles: [], problems: [], warnings: [] };
  const seen = new Map<string, number>();
  raw.forEach((item, index) => {
    const r = validateProfile(item, { file, index, rules });
    out.problems.push(...r.problems);
    out.warnings.push(...r.warnings);
    const id = isPlainObject(item) ? new FieldReader(item, '', []).string('ID') : '';
    if (id !== '') {
      const first = seen.get(id);
      if (first !== undefined) out.problems.push({ file, profileId: id, index, field: 'ID', message: `duplicate ID: profile #${first + 1} has the same ID` });
      else seen.set(id, index);
    }
    if (r.profile) out.profiles.push(r.profile);
  });
  return out;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.values(v).forEach(deepFreeze);
    Object.freeze(v);
  }
  return v;
}

/**
 * Profiles are immutable so the runtime can compare them by reference: a validated profile is already
 * deeply frozen (and kept as it is, with its ProviderConfig's reading); any other is frozen as a copy.
 */
export function freezeProfile(p: Profile): Profile {
  if (Object.isFrozen(p) && (p.ProviderConfig === null || Object.isFrozen(p.ProviderConfig))) return p;
  return deepFreeze(structuredClone(p));
}
