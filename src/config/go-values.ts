/**
 * Parsing environment values exactly as TIB's envconfig does (Go strconv): ParseBool, ParseInt with base 0,
 * `k1:v1,k2:v2` maps and comma-separated lists. Each returns a value or an error message.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function parseGoBool(raw: string): Parsed<boolean> {
  if (TRUE.has(raw)) return { ok: true, value: true };
  if (FALSE.has(raw)) return { ok: true, value: false };
  return { ok: false, error: `invalid boolean ${JSON.stringify(raw)} (use true or false)` };
}

/** strconv.ParseInt(s, 0, 64): 0x.. hex, 0o.. or leading-0 octal, 0b.. binary, `_` only after a prefix. */
export function parseGoInt(raw: string): Parsed<number> {
  const bad: Parsed<number> = { ok: false, error: `invalid integer ${JSON.stringify(raw)}` };
  const m = /^([+-]?)(.*)$/.exec(raw);
  if (!m || m[2] === '') return bad;
  const sign = m[1] === '-' ? -1 : 1;
  let body = m[2] ?? '';
  let base = 10;
  let prefixed = false;
  if (/^0[xX]/.test(body)) [base, body, prefixed] = [16, body.slice(2), true];
  else if (/^0[oO]/.test(body)) [base, body, prefixed] = [8, body.slice(2), true];
  else if (/^0[bB]/.test(body)) [base, body, prefixed] = [2, body.slice(2), true];
  else if (/^0[0-9_]/.test(body)) [base, body, prefixed] = [8, body.slice(1), true];
  if (body.includes('_')) {
    // Go allows underscores only with a base prefix, between digits or right after the prefix.
    if (!prefixed || /_$|__/.test(body)) return bad;
    body = body.replace(/_/g, '');
  }
  const digits = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base as 2 | 8 | 10 | 16];
  if (!digits.test(body)) return bad;
  const value = sign * parseInt(body, base);
  if (!Number.isSafeInteger(value)) return { ok: false, error: `integer out of range ${JSON.stringify(raw)}` };
  return { ok: true, value };
}

/** envconfig slices: comma-separated; an empty value is an empty list. */
export function parseGoList(raw: string): Parsed<string[]> {
  return { ok: true, value: raw === '' ? [] : raw.split(',') };
}

/** envconfig maps: `k1:v1,k2:v2`, every pair exactly one `:`. */
export function parseGoMap(raw: string): Parsed<Record<string, string>> {
  const out: Record<string, string> = {};
  if (raw === '') return { ok: true, value: out };
  for (const pair of raw.split(',')) {
    const parts = pair.split(':');
    if (parts.length !== 2) return { ok: false, error: `invalid map item ${JSON.stringify(pair)} (use key:value,key:value)` };
    out[parts[0] as string] = parts[1] as string;
  }
  return { ok: true, value: out };
}
