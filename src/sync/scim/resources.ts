/**
 * SCIM 2.0 Users and Groups as the broker keeps them (issue 20, item 5; RFC 7643, RFC 7644): what a POST or PUT
 * may hold, PATCH (RFC 7644 §3.5.2) through the `scim-patch` library, filters (§3.4.2.2) parsed by
 * `scim2-parse-filter` and evaluated here with RFC 7643's case rules, and attribute projection (§3.4.2.5).
 * No HTTP here (src/http/scim.ts): every refusal is a ScimError with the status and scimType of RFC 7644 §3.12.
 *
 * What the broker stores is what the portal needs (userName, externalId, name, displayName, emails, active;
 * a Group's displayName, externalId and member ids): other attributes an IdP sends (Entra's enterprise extension,
 * phone numbers, addresses) are accepted and not kept, so a PATCH of them succeeds and changes nothing.
 */
import type { ScimPatchOperation } from 'scim-patch';
import type { Filter } from 'scim2-parse-filter';
import type { ScimKind, ScimResource } from '../../state/scim-store.js';

/**
 * scim-patch and scim2-parse-filter, imported by loadScimLibraries(), which the SCIM routes (src/http/scim.ts)
 * await before a SCIM profile's first request: a broker without a SCIM profile never loads them
 * (docs/performance.md "Idle memory").
 */
let libraries: { patch: typeof import('scim-patch'); filter: typeof import('scim2-parse-filter') } | undefined;
let loading: Promise<void> | undefined;
export function loadScimLibraries(): Promise<void> {
  return (loading ??= Promise.all([import('scim-patch'), import('scim2-parse-filter')]).then(([patch, filter]) => void (libraries = { patch, filter })));
}
const loaded = () => {
  if (!libraries) throw new Error('SCIM: loadScimLibraries() was not awaited');
  return libraries;
};

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A refusal in RFC 7644 §3.12's terms. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath' | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive',
  ) {
    super(message);
  }
}

/** Bounds on what one request may carry, whatever the body limit lets through. */
const MAX_STRING = 1024;
const MAX_EMAILS = 10;
const MAX_OPERATIONS = 1000;
const MAX_FILTER = 1000;
const MAX_FILTER_DEPTH = 10;

const invalid = (message: string) => new ScimError(400, message, 'invalidValue');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown, field: string, required = false): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw invalid(`${field} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`${field} must be a string`);
  if (v.length > MAX_STRING) throw invalid(`${field} is longer than ${MAX_STRING} characters`);
  if (required && v.trim() === '') throw invalid(`${field} must not be empty`);
  return v;
}

/** A boolean; Entra ID sends "True"/"False" as strings in PATCH values (its documented quirk), taken as booleans. */
function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw invalid(`${field} must be a boolean`);
}

/** Case-insensitive attribute lookup (RFC 7643 §2.1: attribute names are case-insensitive). */
function attr(o: Record<string, unknown>, name: string): unknown {
  const hit = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return hit === undefined ? undefined : o[hit];
}

const drop = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** The User the broker keeps from a POST or PUT body (or a PATCH's result), without id and meta. */
export function userBody(body: unknown): Record<string, unknown> {
  if (!isObject(body)) throw new ScimError(400, 'the body must be a JSON object', 'invalidSyntax');
  const name = attr(body, 'name');
  if (name !== undefined && name !== null && !isObject(name)) throw invalid('name must be an object');
  const rawEmails = attr(body, 'emails');
  if (rawEmails !== undefined && rawEmails !== null && !Array.isArray(rawEmails)) throw invalid('emails must be an array');
  const emails = ((rawEmails as unknown[] | null | undefined) ?? []).slice(0, MAX_EMAILS + 1).map((e, i) => {
    if (!isObject(e)) throw invalid(`emails[${i}] must be an object`);
    return drop({ value: str(attr(e, 'value'), `emails[${i}].value`, true), type: str(attr(e, 'type'), `emails[${i}].type`), primary: bool(attr(e, 'primary'), `emails[${i}].primary`) });
  });
  if (emails.length > MAX_EMAILS) throw invalid(`at most ${MAX_EMAILS} emails`);
  const n = isObject(name) ? name : {};
  const names = drop({ givenName: str(attr(n, 'givenName'), 'name.givenName'), familyName: str(attr(n, 'familyName'), 'name.familyName'), formatted: str(attr(n, 'formatted'), 'name.formatted') });
  return drop({
    schemas: [USER_SCHEMA],
    externalId: str(attr(body, 'externalId'), 'externalId'),
    userName: str(attr(body, 'userName'), 'userName', true),
    name: Object.keys(names).length > 0 ? names : undefined,
    displayName: str(attr(body, 'displayName'), 'displayName'),
    emails: emails.length > 0 ? emails : undefined,
    // RFC 7643 §4.1.1: active has no default; a user created without it is taken as active, as Okta and Entra mean.
    active: bool(attr(body, 'active'), 'active') ?? true,
  });
}

/** The Group the broker keeps, without id and meta; members as their ids only. */
export function groupBody(body: unknown, maxMembers: number): Record<string, unknown> {
  if (!isObject(body)) throw new ScimError(400, 'the body must be a JSON object', 'invalidSyntax');
  const raw = attr(body, 'members');
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) throw invalid('members must be an array');
  const list = (raw as unknown[] | null | undefined) ?? [];
  if (list.length > maxMembers) throw new ScimError(400, `a group holds at most ${maxMembers} members here`, 'invalidValue');
  const ids = new Set<string>();
  list.forEach((m, i) => {
    if (!isObject(m)) throw invalid(`members[${i}] must be an object`);
    ids.add(str(attr(m, 'value'), `members[${i}].value`, true) as string);
  });
  return drop({
    schemas: [GROUP_SCHEMA],
    externalId: str(attr(body, 'externalId'), 'externalId'),
    displayName: str(attr(body, 'displayName'), 'displayName', true),
    members: [...ids].map((value) => ({ value })),
  });
}

/** The attributes a PATCH path or a filter may name, per kind (lower case; sub-attributes after a dot). */
const KNOWN: Record<ScimKind, ReadonlySet<string>> = {
  User: new Set(['id', 'externalid', 'username', 'name', 'name.givenname', 'name.familyname', 'name.formatted', 'displayname', 'emails', 'emails.value', 'emails.type', 'emails.primary', 'active', 'meta.created', 'meta.lastmodified']),
  Group: new Set(['id', 'externalid', 'displayname', 'members', 'members.value', 'meta.created', 'meta.lastmodified']),
};
const CORE_PREFIX = /^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/i;

/** A PATCH path's attribute, or undefined when it names an extension the broker accepts and does not keep. */
function pathAttribute(kind: ScimKind, path: string): string | undefined {
  const bare = path.replace(CORE_PREFIX, '');
  if (/^urn:/i.test(bare)) return undefined;
  const m = /^([A-Za-z][\w$-]*)(?:\[.*\])?(?:\.([A-Za-z][\w$-]*))?$/s.exec(bare);
  if (!m) throw new ScimError(400, `the path ${JSON.stringify(path)} is not a SCIM path`, 'invalidPath');
  const name = (m[1] as string).toLowerCase() + (m[2] ? `.${m[2].toLowerCase()}` : '');
  if (!KNOWN[kind].has(name) && !KNOWN[kind].has((m[1] as string).toLowerCase())) throw new ScimError(400, `the path ${JSON.stringify(path)} names no attribute of a ${kind}`, 'invalidPath');
  if (name === 'id' || name.startsWith('meta')) throw new ScimError(400, `${name} is read-only`, 'mutability');
  return name;
}

/** Members as ids only, whatever the IdP adds (display, $ref, type): so a removal by value matches the stored member. */
const memberIds = (v: unknown): unknown => (Array.isArray(v) ? v.map((m) => (isObject(m) && typeof attr(m, 'value') === 'string' ? { value: attr(m, 'value') } : m)) : isObject(v) && typeof attr(v, 'value') === 'string' ? { value: attr(v, 'value') } : v);

/** One operation for the library: the core schema's URN taken off the path, members as ids only. */
function one(op: 'add' | 'remove' | 'replace', path: string, value: unknown): ScimPatchOperation {
  const bare = path.replace(CORE_PREFIX, '');
  const v = bare.toLowerCase() === 'members' ? memberIds(value) : value;
  return (v === undefined ? { op, path: bare } : { op, path: bare, value: v }) as ScimPatchOperation;
}

/**
 * Applies a PatchOp body (RFC 7644 §3.5.2) to a stored resource and returns the new body to validate again.
 * Entra ID's shapes are taken as its guide documents them: capitalised ops ("Replace"), a path-less replace whose
 * value has dotted keys ("name.givenName"), booleans as strings, and members removed by a value list.
 */
export function patchResource(kind: ScimKind, current: ScimResource, body: unknown): Record<string, unknown> {
  if (!isObject(body)) throw new ScimError(400, 'the body must be a JSON object', 'invalidSyntax');
  const schemas = attr(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_SCHEMA)) throw new ScimError(400, `a PATCH body names the schema ${PATCH_SCHEMA}`, 'invalidSyntax');
  const ops = attr(body, 'Operations');
  if (!Array.isArray(ops) || ops.length === 0) throw new ScimError(400, 'Operations must be a non-empty array', 'invalidSyntax');
  if (ops.length > MAX_OPERATIONS) throw new ScimError(400, `at most ${MAX_OPERATIONS} operations`, 'invalidValue');
  const operations: ScimPatchOperation[] = ops.flatMap((o, i): ScimPatchOperation[] => {
    if (!isObject(o)) throw new ScimError(400, `Operations[${i}] must be an object`, 'invalidSyntax');
    const op = attr(o, 'op');
    if (typeof op !== 'string' || !/^(add|remove|replace)$/i.test(op)) throw new ScimError(400, `Operations[${i}].op must be add, remove or replace`, 'invalidSyntax');
    const lower = op.toLowerCase() as 'add' | 'remove' | 'replace';
    const path = attr(o, 'path');
    const value = attr(o, 'value');
    if (path !== undefined && typeof path !== 'string') throw new ScimError(400, `Operations[${i}].path must be a string`, 'invalidPath');
    if (lower === 'remove' && path === undefined) throw new ScimError(400, `Operations[${i}]: a remove names its path`, 'noTarget');
    if (lower !== 'remove' && value === undefined) throw new ScimError(400, `Operations[${i}]: ${lower} needs a value`, 'invalidValue');
    if (path === undefined) {
      if (!isObject(value)) throw new ScimError(400, `Operations[${i}]: without a path, the value is an object of attributes`, 'invalidValue');
      // Path-less: each key is a path of its own (Entra: "name.givenName", 'emails[type eq "work"].value'); Okta adds the id.
      return Object.entries(value).filter(([k]) => k.toLowerCase() !== 'id' && pathAttribute(kind, k) !== undefined).map(([k, v]) => one(lower, k, v));
    }
    return pathAttribute(kind, path) === undefined ? [] : [one(lower, path, value)];
  });
  const { id, meta, ...rest } = current;
  const { scimPatch, ScimError: PatchError } = loaded().patch;
  let patched: Record<string, unknown>;
  try {
    patched = scimPatch({ ...structuredClone(rest), schemas: rest.schemas ?? [], meta: { resourceType: kind } } as never, operations, { mutateDocument: false, treatMissingAsAdd: true }) as unknown as Record<string, unknown>;
  } catch (err) {
    if (err instanceof PatchError) throw new ScimError(400, err.message, err.scimCode === 'noTarget' ? 'noTarget' : err.scimCode === 'invalidPath' ? 'invalidPath' : 'invalidValue');
    throw new ScimError(400, `the PATCH cannot be applied: ${err instanceof Error ? err.message : String(err)}`, 'invalidValue');
  }
  void id;
  void meta;
  delete patched.meta;
  return patched;
}

/** Case-exact attributes (RFC 7643 §4.1, §8.7.1: id and externalId); every other string compares without case. */
const CASE_EXACT = new Set(['id', 'externalid']);

/** The values at a dotted path (arrays flattened: emails.value gives every email). */
function valuesAt(r: unknown, path: string): unknown[] {
  let cur: unknown[] = [r];
  for (const part of path.split('.')) {
    const next: unknown[] = [];
    for (const c of cur) {
      const items = Array.isArray(c) ? c : [c];
      for (const it of items) if (isObject(it)) {
        const v = attr(it, part);
        if (v !== undefined && v !== null) next.push(...(Array.isArray(v) ? v : [v]));
      }
    }
    cur = next;
  }
  return cur;
}

function compare(op: string, have: unknown, want: unknown, exact: boolean): boolean {
  if (typeof have === 'string' && typeof want === 'string') {
    const a = exact ? have : have.toLowerCase();
    const b = exact ? want : want.toLowerCase();
    switch (op) {
      case 'eq': return a === b;
      case 'ne': return a !== b;
      case 'co': return a.includes(b);
      case 'sw': return a.startsWith(b);
      case 'ew': return a.endsWith(b);
      case 'gt': return a > b;
      case 'ge': return a >= b;
      case 'lt': return a < b;
      case 'le': return a <= b;
    }
    return false;
  }
  if (op === 'eq') return have === want;
  if (op === 'ne') return have !== want;
  return false;
}

export type ScimPredicate = (r: ScimResource) => boolean;

function evaluate(kind: ScimKind, f: Filter, base = ''): ScimPredicate {
  switch (f.op) {
    case 'and': {
      const parts = f.filters.map((x) => evaluate(kind, x, base));
      return (r) => parts.every((p) => p(r));
    }
    case 'or': {
      const parts = f.filters.map((x) => evaluate(kind, x, base));
      return (r) => parts.some((p) => p(r));
    }
    case 'not': {
      const inner = evaluate(kind, f.filter, base);
      return (r) => !inner(r);
    }
    case '[]': {
      const path = f.attrPath.replace(CORE_PREFIX, '').toLowerCase();
      if (!KNOWN[kind].has(path)) throw new ScimError(400, `the filter names no attribute of a ${kind}: ${f.attrPath}`, 'invalidFilter');
      const inner = evaluate(kind, f.valFilter, `${path}.`);
      return (r) => valuesAt(r, path).some((item) => isObject(item) && inner(item as ScimResource));
    }
    default: {
      const full = (base + f.attrPath.replace(CORE_PREFIX, '')).toLowerCase();
      if (!KNOWN[kind].has(full)) throw new ScimError(400, `the filter names no attribute of a ${kind}: ${f.attrPath}`, 'invalidFilter');
      const path = f.attrPath.replace(CORE_PREFIX, '');
      const exact = CASE_EXACT.has(full);
      if (f.op === 'pr') return (r) => valuesAt(r, path).length > 0;
      const want = f.compValue;
      // A multi-valued attribute without a sub-attribute compares its "value" (RFC 7644 §3.4.2.2).
      const sub = full === 'emails' || full === 'members' ? `${path}.value` : path;
      return (r) => {
        const have = valuesAt(r, sub);
        return f.op === 'ne' ? have.every((v) => compare('ne', v, want, exact)) : have.some((v) => compare(f.op, v, want, exact));
      };
    }
  }
}

/** The deepest nesting of parentheses and brackets outside quoted strings. */
function depthOf(text: string): number {
  let depth = 0;
  let max = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(' || c === '[') max = Math.max(max, ++depth);
    else if (c === ')' || c === ']') depth--;
  }
  return max;
}

/** A filter (RFC 7644 §3.4.2.2) as a predicate; a long, deep, malformed or unknown-attribute filter is a 400 invalidFilter. */
export function compileFilter(kind: ScimKind, text: string): ScimPredicate {
  if (text.length > MAX_FILTER) throw new ScimError(400, `the filter is longer than ${MAX_FILTER} characters`, 'invalidFilter');
  if (depthOf(text) > MAX_FILTER_DEPTH) throw new ScimError(400, `the filter nests deeper than ${MAX_FILTER_DEPTH}`, 'invalidFilter');
  const parseFilter = loaded().filter.parse;
  let ast: Filter;
  try {
    ast = parseFilter(text);
  } catch (err) {
    throw new ScimError(400, `the filter cannot be parsed: ${err instanceof Error ? err.message.slice(0, 200) : 'syntax error'}`, 'invalidFilter');
  }
  return evaluate(kind, ast);
}

/** attributes / excludedAttributes (RFC 7644 §3.4.2.5, §3.9); id and schemas are always returned. */
export function project(r: ScimResource, attributes: string[] | undefined, excluded: string[] | undefined): Record<string, unknown> {
  const norm = (list: string[]) => list.map((a) => a.trim().replace(CORE_PREFIX, '').toLowerCase()).filter((a) => a !== '');
  const always = new Set(['id', 'schemas']);
  if (attributes && attributes.length > 0) {
    const want = norm(attributes);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      const key = k.toLowerCase();
      if (always.has(key) || want.includes(key)) out[k] = v;
      else {
        const subs = want.filter((w) => w.startsWith(`${key}.`)).map((w) => w.slice(key.length + 1));
        if (subs.length > 0 && isObject(v)) out[k] = Object.fromEntries(Object.entries(v).filter(([s]) => subs.includes(s.toLowerCase())));
      }
    }
    return out;
  }
  if (excluded && excluded.length > 0) {
    const skip = norm(excluded);
    return Object.fromEntries(Object.entries(r).filter(([k]) => always.has(k.toLowerCase()) || !skip.includes(k.toLowerCase())));
  }
  return r;
}
