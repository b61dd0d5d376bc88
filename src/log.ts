/**
 * Winston logging with one prefix per component (as TIB's logrus "prefix" field) and redaction that
 * runs before any transport sees a line, at every level: values under secret-looking keys are
 * replaced, and every secret registered with `registerSecret` is masked wherever it appears.
 */
import winston from 'winston';
import type { LogFormat, LogLevel } from './config/types.js';

export type Logger = winston.Logger;

const REDACTED = '[redacted]';
/** Keys whose values are never logged, wherever they appear in a log entry's metadata. */
const SECRET_KEY =
  /(secret|password|passwd|pwd|token|nonce|credential|authorization|cookie|private|^code$|^state$|samlresponse|samlrequest|assertion|^key$|apikey|api_key|adminsecret|client_?secret|session)/i;
/** Metadata keys that name things, not secrets, even though they contain a matching word. */
const SAFE_KEY = /^(message|level|prefix|timestamp|profile|profileId|provider|field|status|statusCode|reason|durationMs|tokenType)$/;

/** tib.conf secrets: chosen by the operator, masked for the life of the process. */
const permanent = new Set<string>();
/** Profile secrets, reference-counted: two profiles may share one, and a removed profile's go away. */
const counted = new Map<string, number>();
const owned = new Map<string, Set<string>>();
/** Every mask; rebuilt on change. */
let masks: string[] = [];

/**
 * Below this a profile value is too likely to be an ordinary word ("login", "admin", a port) whose masking
 * would blind unrelated log lines; 8 is also the shortest password any common directory policy accepts.
 */
export const MIN_PROFILE_SECRET_LENGTH = 8;

function rebuildMasks(): void {
  masks = [...new Set([...permanent, ...counted.keys()])].sort((a, b) => b.length - a.length);
}

/** Mask this value in every future log line, for good (tib.conf secrets). */
export function registerSecret(value: unknown): void {
  if (typeof value === 'string' && value.length >= 4 && !permanent.has(value)) {
    permanent.add(value);
    rebuildMasks();
  }
}

/**
 * Replace the secrets masked on behalf of `owner` (a profile ID) with `values`; an empty list drops them.
 * Values shorter than MIN_PROFILE_SECRET_LENGTH are not masked.
 */
export function setOwnedSecrets(owner: string, values: readonly unknown[]): void {
  const next = new Set(values.filter((v): v is string => typeof v === 'string' && v.length >= MIN_PROFILE_SECRET_LENGTH));
  const prev = owned.get(owner) ?? new Set<string>();
  for (const v of next) if (!prev.has(v)) counted.set(v, (counted.get(v) ?? 0) + 1);
  for (const v of prev) {
    if (next.has(v)) continue;
    const n = (counted.get(v) ?? 1) - 1;
    if (n > 0) counted.set(v, n);
    else counted.delete(v);
  }
  if (next.size > 0) owned.set(owner, next);
  else owned.delete(owner);
  rebuildMasks();
}

/**
 * Every occurrence of every secret, found in the original text, masked as one run where they overlap: masking
 * one secret at a time would cut a secret overlapping an earlier one and leave the rest of it in the line.
 */
function maskString(s: string): string {
  const ranges: Array<[number, number]> = [];
  for (const secret of masks) {
    for (let i = s.indexOf(secret); i >= 0; i = s.indexOf(secret, i + 1)) ranges.push([i, i + secret.length]);
  }
  if (ranges.length === 0) return s;
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [from, to] of ranges) {
    if (from >= at) out += s.slice(at, from) + REDACTED;
    at = Math.max(at, to);
  }
  return out + s.slice(at);
}

/** Deep copy of a log value with secrets removed. Exported for tests and for debug dumps. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return maskString(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return maskString(value.message);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = !SAFE_KEY.test(k) && SECRET_KEY.test(k) && v !== '' && v !== undefined ? REDACTED : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'prefix' || key === 'timestamp') continue;
    if (key === 'message') {
      info.message = typeof info.message === 'string' ? maskString(info.message) : redact(info.message);
    } else if (!SAFE_KEY.test(key) && SECRET_KEY.test(key)) {
      info[key] = REDACTED;
    } else {
      info[key] = redact(info[key]);
    }
  }
  return info;
});

function textLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, prefix, timestamp, ...meta } = info;
  const extras = Object.entries(meta)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`)
    .join(' ');
  return `${String(timestamp)} [${String(level).toUpperCase()}] ${prefix ? `${String(prefix)}: ` : ''}${String(message)}${extras ? ` ${extras}` : ''}`;
}

function formatFor(kind: LogFormat): winston.Logform.Format {
  const stamp = winston.format.timestamp({ format: kind === 'json' ? undefined : 'MMM DD HH:mm:ss' });
  return kind === 'json'
    ? winston.format.combine(redactFormat(), stamp, winston.format.json())
    : winston.format.combine(redactFormat(), stamp, winston.format.printf(textLine));
}

/** TIB's TYK_LOGLEVEL: error, warn, debug, anything else is info (case-insensitive). */
export function parseLogLevel(raw: string | undefined): LogLevel {
  const v = (raw ?? '').toLowerCase();
  return v === 'error' || v === 'warn' || v === 'debug' ? v : 'info';
}

export const rootLogger: Logger = winston.createLogger({
  level: parseLogLevel(process.env.TYK_LOGLEVEL),
  format: formatFor('text'),
  transports: [new winston.transports.Console({ stderrLevels: [] })],
});

export function configureLogging(opts: { level: LogLevel; format: LogFormat; silent?: boolean }): void {
  rootLogger.level = opts.level;
  rootLogger.format = formatFor(opts.format);
  if (opts.silent !== undefined) rootLogger.silent = opts.silent;
}

/** A logger for one component; the prefix shows in every line (`MAIN`, `API`, `AD AUTH`, ...). */
export function getLogger(prefix: string): Logger {
  return rootLogger.child({ prefix });
}
