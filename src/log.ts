/**
 * Winston logging with one prefix per component (as TIB's logrus "prefix" field) and redaction that
 * runs before any transport sees a line, at every level: values under secret-looking keys are
 * replaced, and every secret registered with `registerSecret` is masked wherever it appears.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
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
/**
 * Every mask in one pattern, rebuilt on change, so a line is scanned once whatever the number of secrets.
 * A lookahead, so that overlapping secrets are all found (the longest first at each position).
 */
let masks: RegExp | undefined;

/**
 * Below this a profile value is too likely to be an ordinary word ("login", "admin", a port) whose masking
 * would blind unrelated log lines; 8 is also the shortest password any common directory policy accepts.
 */
export const MIN_PROFILE_SECRET_LENGTH = 8;

const escapeRegExp = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function rebuildMasks(): void {
  const all = [...new Set([...permanent, ...counted.keys()])].sort((a, b) => b.length - a.length);
  masks = all.length > 0 ? new RegExp(`(?=(${all.map(escapeRegExp).join('|')}))`, 'g') : undefined;
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
  if (!masks) return s;
  const ranges: Array<[number, number]> = [];
  masks.lastIndex = 0;
  for (let m = masks.exec(s); m; m = masks.exec(s)) {
    ranges.push([m.index, m.index + (m[1] as string).length]);
    masks.lastIndex = m.index + 1; // the match is empty (a lookahead): move on by hand
  }
  if (ranges.length === 0) return s;
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

/** What JSON.stringify leaves raw but a terminal or a log viewer reads as a line break or a reordering: C1 controls (NEL), U+2028/2029, bidi overrides. */
const UNSAFE_FOR_LOG = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Escapes those characters as `\uXXXX`, so no value (a user name, a profile ID) can fake a log line or hide text. */
export function escapeForLog(text: string): string {
  return text.replace(UNSAFE_FOR_LOG, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value as JSON for a log line or a message, with escapeForLog's characters escaped too. */
export function quoteForLog(value: unknown): string {
  return escapeForLog(JSON.stringify(value) ?? 'undefined');
}

function textLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, prefix, timestamp, ...meta } = info;
  const extras = Object.entries(meta)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${quoteForLog(v)}`)
    .join(' ');
  return `${String(timestamp)} [${String(level).toUpperCase()}] ${prefix ? `${String(prefix)}: ` : ''}${escapeForLog(String(message))}${extras ? ` ${extras}` : ''}`;
}

/**
 * What every log line written while serving one request carries (src/http/request-id.ts starts it): its
 * request ID and, once the login route has computed it, the client address. Node's AsyncLocalStorage follows
 * the request through awaits and callbacks, so no logger has to be handed the request.
 */
export interface RequestContext {
  request_id: string;
  client?: string;
}
const requestContext = new AsyncLocalStorage<RequestContext>();

/** Run `fn` (the rest of a request's handling) with `context` on its log lines. */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return requestContext.run(context, fn);
}

/** The context of the request being served, if any (the audit log reads its request ID here). */
export function currentRequestContext(): RequestContext | undefined {
  return requestContext.getStore();
}

/** Adds the request's ID and client to the line, unless the line names them itself. */
const contextFormat = winston.format((info) => {
  const ctx = requestContext.getStore();
  if (ctx) {
    info.request_id ??= ctx.request_id;
    if (ctx.client !== undefined) info.client ??= ctx.client;
  }
  return info;
});

/**
 * ISO 8601 in UTC with milliseconds (`2026-12-06T15:49:17.123Z`), as the JSON format writes it: TIB's
 * `Nov 25 20:07:15` had no year, no milliseconds and no zone, so lines from replicas or other services could
 * not be ordered or correlated (docs/differences-from-tib.md).
 */
const isoStamp = winston.format((info) => {
  info.timestamp = new Date().toISOString();
  return info;
});

function formatFor(kind: LogFormat): winston.Logform.Format {
  return kind === 'json'
    ? winston.format.combine(contextFormat(), redactFormat(), isoStamp(), winston.format.json())
    : winston.format.combine(contextFormat(), redactFormat(), isoStamp(), winston.format.printf(textLine));
}

/** TIB's TYK_LOGLEVEL: error, warn, debug, anything else is info (case-insensitive). */
export function parseLogLevel(raw: string | undefined): LogLevel {
  const v = (raw ?? '').toLowerCase();
  return v === 'error' || v === 'warn' || v === 'debug' ? v : 'info';
}

const MESSAGE = Symbol.for('message');
/** Lines held while stdout is slower than the log (beyond, lines are counted and dropped: memory stays bounded). */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
/**
 * How long lines wait to be written together: a write handed to the thread pool costs ~30 µs of CPU (thread
 * wake-ups) whatever its size, so under load one per 20 ms instead of one per line.
 */
const FLUSH_EVERY_MS = 20;

/**
 * The console (stdout; stderr for the tool commands, logToStderr), without blocking the event loop: Node writes stdout synchronously (files, pipes, terminals),
 * so a slow reader would stall every login in flight. Lines are gathered for FLUSH_EVERY_MS and written by
 * libuv's thread pool, one write at a time, in order; what is still pending at exit is written synchronously.
 * A Console subclass, so whatever silences the console (tests) silences this.
 */
class StdoutLines extends winston.transports.Console {
  private pending: string[] = [];
  private pendingBytes = 0;
  private dropped = 0;
  private writing = false;
  private scheduled = false;

  constructor(private readonly fd = 1) {
    super({ stderrLevels: [] });
    process.on('exit', () => this.flushSync());
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const line = `${String(info[MESSAGE])}\n`;
    if (this.pendingBytes > MAX_PENDING_BYTES) this.dropped++;
    else {
      this.pending.push(line);
      this.pendingBytes += line.length;
      this.schedule();
    }
    callback();
  }

  /** A flush soon, unless one is due or a write is under way (its end schedules the next). */
  private schedule(): void {
    if (this.scheduled || this.writing || this.pending.length === 0) return;
    this.scheduled = true;
    setTimeout(() => this.flush(), FLUSH_EVERY_MS).unref();
  }

  private take(): Buffer {
    if (this.dropped > 0) this.pending.push(`${this.dropped} log line(s) dropped: stdout did not keep up\n`);
    const chunk = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    this.dropped = 0;
    return chunk;
  }

  private flush(): void {
    this.scheduled = false;
    if (this.writing || this.pending.length === 0) return;
    this.writing = true;
    const chunk = this.take();
    const write = (from: number): void =>
      fs.write(this.fd, chunk, from, chunk.length - from, null, (err, written) => {
        if (err) {
          // Not writable without blocking (a non-blocking terminal): write it the blocking way.
          (this.fd === 2 ? process.stderr : process.stdout).write(chunk.subarray(from));
        } else if (from + written < chunk.length) return write(from + written);
        this.writing = false;
        this.schedule();
      });
    write(0);
  }

  private flushSync(): void {
    if (this.pending.length === 0) return;
    try {
      fs.writeSync(this.fd, this.take());
    } catch {
      // stdout is gone: nothing left to tell
    }
  }
}

export const rootLogger: Logger = winston.createLogger({
  level: parseLogLevel(process.env.TYK_LOGLEVEL),
  format: formatFor('text'),
  transports: [new StdoutLines()],
});

/** The tool commands (`sync`, `profiles ...`): their output is standard output, so the log goes to standard error. */
export function logToStderr(): void {
  rootLogger.clear();
  rootLogger.add(new StdoutLines(2));
}

export function configureLogging(opts: { level: LogLevel; format: LogFormat; silent?: boolean }): void {
  rootLogger.level = opts.level;
  rootLogger.format = formatFor(opts.format);
  if (opts.silent !== undefined) rootLogger.silent = opts.silent;
}

/** A logger for one component; the prefix shows in every line (`MAIN`, `API`, `AD AUTH`, ...). */
/** Whether lines at `level` are written now (cheap: for work done only to log, such as timing a request). */
export function logsAt(level: LogLevel): boolean {
  return rootLogger.levels[level]! <= rootLogger.levels[rootLogger.level]!;
}

export function getLogger(prefix: string): Logger {
  const child = rootLogger.child({ prefix });
  // winston formats (redaction included) before its transports filter by level: skip it all below the level.
  const methods = child as unknown as Record<string, (...args: unknown[]) => Logger>;
  for (const level of Object.keys(rootLogger.levels)) {
    const write = methods[level];
    if (write) methods[level] = (...args) => (logsAt(level as LogLevel) ? write.apply(child, args) : child);
  }
  return child;
}
