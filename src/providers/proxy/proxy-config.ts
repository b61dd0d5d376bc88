/**
 * ProxyProvider's ProviderConfig (docs/tib-behaviour.md §4.3). TIB's misspelt `ExrtactUserNameFromBasicAuthHeader` is kept and
 * the correct spelling is accepted beside it. Settings TIB accepts but that can never let anybody in (an
 * OKCode of 400 or more, an OKResponse that is not base64, a UsernameField without ResponseIsJson, no username
 * source at all) are refused here, at load time, instead of failing every login.
 */
import { RE2JS } from 're2js';
import type { BruteForceSettings } from '../../config/types.js';
import type { FieldReader } from '../../profiles/fields.js';
import { readBruteForce } from '../brute-force.js';

export interface ProxyConfig {
  TargetHost: string;
  OKCode: number;
  OKResponse: string;
  OKRegex: string;
  ResponseIsJson: boolean;
  AccessTokenField: string;
  UsernameField: string;
  /** Either spelling: TIB's `ExrtactUserNameFromBasicAuthHeader` or `ExtractUserNameFromBasicAuthHeader`. */
  ExrtactUserNameFromBasicAuthHeader: boolean;
  // Ours (not in TIB):
  /** Where a failed login is sent ("" answers with TIB's error envelope). */
  /** Milliseconds for the whole upstream exchange, answer body included (default 10000). */
  UpstreamTimeout: number;
  /** Largest upstream answer body read, in bytes (default 1 MiB); a larger one fails the login. */
  UpstreamMaxResponseBytes: number;
  /** Overrides of tib.conf's BruteForce for this profile (only the keys given). */
  BruteForce: Partial<BruteForceSettings>;
}

const MIB = 1024 * 1024;


/** OKRegex compiled as Go's regexp does (RE2 syntax, linear-time matching); throws on a syntax error. */
export function compileOkRegex(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

function readExtractFlag(r: FieldReader): boolean {
  const tib = 'ExrtactUserNameFromBasicAuthHeader';
  const correct = 'ExtractUserNameFromBasicAuthHeader';
  const a = r.has(tib) ? r.bool(tib) : undefined;
  const b = r.has(correct) ? r.bool(correct) : undefined;
  if (a !== undefined && b !== undefined && a !== b) r.error(correct, `contradicts ${tib}; give one of the two spellings`);
  return a ?? b ?? false;
}

export function readProxyConfig(r: FieldReader): ProxyConfig {
  const c: ProxyConfig = {
    TargetHost: r.url('TargetHost', true),
    OKCode: r.int('OKCode'),
    OKResponse: r.string('OKResponse'),
    OKRegex: r.string('OKRegex'),
    ResponseIsJson: r.bool('ResponseIsJson'),
    AccessTokenField: r.string('AccessTokenField'),
    UsernameField: r.string('UsernameField'),
    ExrtactUserNameFromBasicAuthHeader: readExtractFlag(r),
    UpstreamTimeout: r.int('UpstreamTimeout', 10_000),
    UpstreamMaxResponseBytes: r.int('UpstreamMaxResponseBytes', MIB),
    BruteForce: readBruteForce(r),
  };
  if (c.OKCode !== 0 && (c.OKCode < 100 || c.OKCode > 399)) {
    // TIB fails every answer of 400 or more before it looks at OKCode.
    r.error('OKCode', `must be 0 (any status below 300, or below 400 with OKResponse or OKRegex) or an HTTP status from 100 to 399, got ${c.OKCode}`);
  }
  if (c.OKResponse !== '' && Buffer.from(c.OKResponse, 'base64').toString('base64') !== c.OKResponse) {
    r.error('OKResponse', 'must be the standard, padded base64 of the whole expected answer body');
  }
  if (c.OKRegex !== '') {
    try {
      compileOkRegex(c.OKRegex);
    } catch (err) {
      r.error('OKRegex', `is not a valid Go (RE2) regular expression: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  for (const key of ['UsernameField', 'AccessTokenField'] as const) {
    if (c[key] !== '' && !c.ResponseIsJson) r.error(key, 'is read from a JSON answer: set ResponseIsJson to true');
  }
  if (!c.ExrtactUserNameFromBasicAuthHeader && !(c.ResponseIsJson && c.UsernameField !== '')) {
    // TIB invents a random 12-letter user then: every login would be a new account.
    r.error('UsernameField', 'no username source: set UsernameField (with ResponseIsJson) or ExtractUserNameFromBasicAuthHeader');
  }
  if (c.UpstreamTimeout < 1 || c.UpstreamTimeout > 300_000) r.error('UpstreamTimeout', 'must be between 1 and 300000 milliseconds');
  if (c.UpstreamMaxResponseBytes < 1 || c.UpstreamMaxResponseBytes > 16 * MIB) r.error('UpstreamMaxResponseBytes', `must be between 1 and ${16 * MIB} bytes`);
  return c;
}
