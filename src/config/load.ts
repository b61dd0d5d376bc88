/**
 * Loads tib.conf the way operators already use it with TIB (case-insensitive JSON keys, TYK_IB_* variables
 * with TIB's names and formats, TYK_IB_OMITCONFIGFILE), but strictly: every wrong type, unparsable value or
 * unsupported setting is collected and reported with the file and key or the variable, instead of being
 * skipped as TIB does.
 */
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { parseLogLevel, redact, registerSecret } from '../log.js';
import { trustedProxyProblem } from '../client-ip.js';
import { opsSettingsProblems } from './ops-settings.js';
import { bruteForceProblems } from './brute-force.js';
import { hostPatternProblem } from './allowed-hosts.js';
import { jsonSyntaxProblem } from './json-syntax.js';
import { DEFAULT_PORT, listenUrl } from './listen.js';
import { parseGoBool, parseGoInt, parseGoList, parseGoMap, type Parsed } from './go-values.js';
import { isGroup, leaves, SCHEMA, type Group, type Leaf } from './schema.js';
import { closest, didYouMean } from './suggest.js';
import type { Config } from './types.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
  /** Where the settings came from, so that messages name the file's key or the variable. */
  source: ConfigSource;
}

export interface ConfigSource {
  /** The file's name; undefined in env-only mode (TYK_IB_OMITCONFIGFILE=true). */
  file?: string;
  /** Dotted JSON paths a TYK_IB_* variable set. */
  fromEnv: ReadonlySet<string>;
}

/** `tib.conf: TykAPISettings.Timeout`, or `TYK_IB_TYKAPISETTINGS_TIMEOUT` when a variable set it (or there is no file). */
export type SettingNamer = (jsonPath: string) => string;

const VARIABLES = new Map(leaves().flatMap(({ jsonPath, env }) => (env ? [[jsonPath.join('.'), env] as const] : [])));
/** Read by the loader besides the schema's variables. */
const OTHER_VARIABLES = ['TYK_IB_OMITCONFIGFILE', 'TYK_IB_SESSION_SECRET'];

/** The variable that sets `key` when messages should name it (env-only mode, or the variable set it). */
function variableOf(key: string, source: ConfigSource): string | undefined {
  const variable = VARIABLES.get(key);
  return variable && (source.file === undefined || source.fromEnv.has(key)) ? variable : undefined;
}

export function settingNamer(source: ConfigSource): SettingNamer {
  return (key) => variableOf(key, source) ?? (source.file === undefined ? key : `${source.file}: ${key}`);
}

/** The same in a sentence: `TykAPISettings.Timeout in tib.conf`, or the variable. */
export function settingPhrase(source: ConfigSource, key: string): string {
  return variableOf(key, source) ?? (source.file === undefined ? key : `${key} in ${source.file}`);
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function defaultsOf(group: Group): Obj {
  const out: Obj = {};
  for (const n of group.fields) out[n.json] = isGroup(n) ? defaultsOf(n) : structuredClone(n.default);
  return out;
}

/** Every default, no file, no environment. */
export function defaultConfig(): Config {
  return { ...defaultsOf(SCHEMA), SessionSecret: '', LogLevel: 'info' } as unknown as Config;
}

function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Checks a JSON value against a leaf's kind; returns an error text or undefined. */
function checkJson(leaf: Leaf, v: unknown): string | undefined {
  const got = jsonType(v);
  switch (leaf.kind) {
    case 'string':
      return typeof v === 'string' ? undefined : `must be a string, got ${got}`;
    case 'bool':
      return typeof v === 'boolean' ? undefined : `must be true or false, got ${got}`;
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) ? undefined : `must be an integer, got ${got}`;
    case 'list':
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : `must be an array of strings, got ${got}`;
    case 'map':
      return isObj(v) && Object.values(v).every((x) => typeof x === 'string') ? undefined : `must be an object of string values, got ${got}`;
    case 'any':
      return undefined;
  }
}

/** Go's decoding: exact key first, then case-insensitive; null leaves the default; unknown keys ignored. */
function applyJson(target: Obj, source: Obj, group: Group, at: string[], file: string, problems: string[], warnings: string[]): void {
  const used = new Set<string>();
  for (const n of group.fields) {
    const key = Object.hasOwn(source, n.json) ? n.json : Object.keys(source).find((k) => k.toLowerCase() === n.json.toLowerCase());
    if (key === undefined) continue;
    used.add(key);
    const v = source[key];
    if (v === null) continue;
    const where = [...at, n.json].join('.');
    if (isGroup(n)) {
      if (!isObj(v)) problems.push(`${file}: ${where}: must be an object, got ${jsonType(v)}`);
      else applyJson(target[n.json] as Obj, v, n, [...at, n.json], file, problems, warnings);
      continue;
    }
    const err = checkJson(n, v);
    if (err) problems.push(`${file}: ${where}: ${err}`);
    else target[n.json] = structuredClone(v);
  }
  for (const k of Object.keys(source)) {
    if (used.has(k)) continue;
    const match = closest(k, group.fields.map((n) => n.json));
    warnings.push(`${file}: unknown key ${[...at, k].join('.')} ignored${match ? `; did you mean ${[...at, match].join('.')}?` : ''}`);
  }
}

function parseEnv(leaf: Leaf, raw: string): Parsed<unknown> {
  switch (leaf.kind) {
    case 'string':
      return { ok: true, value: raw };
    case 'bool':
      return parseGoBool(raw);
    case 'int':
      return parseGoInt(raw);
    case 'list':
      return parseGoList(raw);
    case 'map':
      return parseGoMap(raw);
    case 'any':
      return { ok: true, value: raw };
  }
}

function setPath(root: Obj, jsonPath: string[], value: unknown): void {
  let o = root;
  for (const p of jsonPath.slice(0, -1)) o = o[p] as Obj;
  o[jsonPath[jsonPath.length - 1] as string] = value;
}

function readFile(confPath: string, problems: string[]): Obj | undefined {
  let text: string;
  try {
    text = fs.readFileSync(confPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push(`${confPath}: ${code === 'ENOENT' ? 'file not found (set -c, or TYK_IB_OMITCONFIGFILE=true to configure from the environment only)' : `cannot read: ${code ?? String(err)}`}`);
    return undefined;
  }
  if (text.trim() === '') {
    problems.push(
      `${confPath}: the file is empty, so nothing is configured: no TykAPISettings (no login can reach the Dashboard or the Gateway to finish) and no Secret (the admin API is off); start from TIB's sample tib.conf, or set TYK_IB_OMITCONFIGFILE=true to configure from TYK_IB_* variables only`,
    );
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    problems.push(`${confPath}: ${jsonSyntaxProblem(text, err)}`);
    return undefined;
  }
  if (!isObj(parsed)) {
    problems.push(`${confPath}: must be a JSON object, got ${jsonType(parsed)}`);
    return undefined;
  }
  return parsed;
}

const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'];

/** BackEnd or profile storage on Redis (as state/redis-client.ts's usesRedis, which config/ must not import). */
/** The portal's base URL: http(s), a host, an optional path; no query, fragment or credentials (they would leak into logs). */
export function isPortalEndpoint(v: string): boolean {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '' && u.search === '' && u.hash === '' && u.username === '' && u.password === '' && !/\s/.test(v);
}

function usesRedisConfig(c: Config): boolean {
  return c.BackEnd.Name === 'redis' || c.Storage.storage_type === 'redis';
}

function validate(c: Config, name: SettingNamer, problems: string[], warnings: string[]): void {
  const p = (key: string, msg: string) => problems.push(`${name(key)}: ${msg}`);
  if (c.Port < 0 || c.Port > 65535) p('Port', `must be between 0 and 65535, got ${c.Port}`);
  if ((c.BackEnd.Name as string) === '') c.BackEnd.Name = 'in_memory';
  if (!['in_memory', 'redis'].includes(c.BackEnd.Name)) p('BackEnd.Name', `must be "in_memory" or "redis", got ${JSON.stringify(c.BackEnd.Name)}`);
  const st = c.Storage.storage_type;
  if (st === 'mongo') p('Storage.storage_type', 'Mongo profile storage is not supported yet; keep profiles in a file (storage_type "file")');
  else if (st !== '' && st !== 'file' && st !== 'redis') p('Storage.storage_type', `must be "file" or "redis", got ${JSON.stringify(st)}`);
  if (st === '') c.Storage.storage_type = 'file';

  const r = c.BackEnd.IdentityBackendSettings;
  const k = 'BackEnd.IdentityBackendSettings';
  for (const [name, v] of [['MinVersion', r.MinVersion], ['MaxVersion', r.MaxVersion]] as const) {
    if (v !== '' && !TLS_VERSIONS.includes(v)) p(`${k}.${name}`, `must be one of ${TLS_VERSIONS.join(', ')}, got ${JSON.stringify(v)}`);
  }
  const min = r.MinVersion || '1.2';
  const max = r.MaxVersion || '1.3';
  if (TLS_VERSIONS.includes(min) && TLS_VERSIONS.includes(max) && min > max) p(`${k}.MinVersion`, `${min} is above MaxVersion ${max}`);
  const validPort = (port: string) => /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
  for (const a of r.Addrs) {
    const m = /^(?:[^\s:@/]+|\[[0-9a-fA-F:]+\]):(\d+)$/.exec(a);
    // A URL with credentials (redis://:pw@host) is not echoed: the password would be in the error.
    const shown = a.includes('@') ? `${JSON.stringify(a.replace(/^.*@/, '…@'))} (credentials hidden)` : JSON.stringify(a);
    if (!m) p(`${k}.Addrs`, `${shown} is not host:port`);
    else if (!validPort(m[1] as string)) p(`${k}.Addrs`, `${shown}: the port must be between 1 and 65535`);
  }
  for (const [h, port] of Object.entries(r.Hosts)) if (!validPort(port)) p(`${k}.Hosts`, `port of ${h} must be a number between 1 and 65535, got ${JSON.stringify(port)}`);
  // Checked only when Redis is used: beyond an hour, Node's timers overflow and every command would time out at once.
  if (usesRedisConfig(c) && (r.Timeout < 0 || r.Timeout > 3600)) p(`${k}.Timeout`, `must be between 0 (5 seconds) and 3600 seconds, got ${r.Timeout}`);
  if (usesRedisConfig(c) && r.MaxActive < 0) p(`${k}.MaxActive`, `must not be negative, got ${r.MaxActive}`);
  if (r.Database < 0) p(`${k}.Database`, 'must not be negative');
  if ((r.CertFile === '') !== (r.KeyFile === '')) warnings.push(`${name(k)}: a client certificate needs both CertFile and KeyFile; it is ignored`);
  if (r.Port < 0 || r.Port > 65535) p(`${k}.Port`, `must be between 0 and 65535, got ${r.Port}`);
  if (r.EnableCluster && !r.MasterName && r.Database !== 0) p(`${k}.Database`, `Redis Cluster has only database 0, got ${r.Database}`);
  if (r.Host !== '' && r.Port === 0 && r.Addrs.length === 0 && Object.keys(r.Hosts).length === 0) {
    warnings.push(`${name(`${k}.Host`)}: ignored because Port is 0 (as in TIB, the default localhost is used); set Port, e.g. 6379`);
  }
  if (usesRedisConfig(c) && r.UseSSL) {
    for (const [name, f] of [['CAFile', r.CAFile], ['CertFile', r.CertFile], ['KeyFile', r.KeyFile]] as const) {
      if (f === '') continue;
      try {
        fs.accessSync(f, fs.constants.R_OK);
      } catch {
        p(`${k}.${name}`, `cannot read ${f}`);
      }
    }
  }

  for (const name of ['GatewayConfig', 'DashboardConfig'] as const) {
    const e = c.TykAPISettings[name];
    if (e.Endpoint !== '' && !/^https?:\/\/[^/\s]+\/?$/.test(e.Endpoint)) {
      p(`TykAPISettings.${name}.Endpoint`, `must be a scheme and host such as "http://localhost", got ${JSON.stringify(e.Endpoint)}`);
    }
    if (e.Port !== '' && !/^\d{1,5}$/.test(e.Port)) p(`TykAPISettings.${name}.Port`, `must be a port number as a string, got ${JSON.stringify(e.Port)}`);
  }
  const portalEndpoint = c.TykAPISettings.PortalAPIConfig.Endpoint;
  if (portalEndpoint !== '' && !isPortalEndpoint(portalEndpoint)) {
    p('TykAPISettings.PortalAPIConfig.Endpoint', `must be the portal's base URL such as "http://tyk-portal:3001" (the broker adds /portal-api), got ${JSON.stringify(portalEndpoint)}`);
  }

  const h = c.HttpServerOptions;
  if (h.UseSSL) {
    const before = problems.length;
    for (const [name, f] of [['CertFile', h.CertFile], ['KeyFile', h.KeyFile]] as const) {
      if (f === '') p(`HttpServerOptions.${name}`, 'is required when UseSSL is true');
      else {
        try {
          fs.accessSync(f, fs.constants.R_OK);
        } catch {
          p(`HttpServerOptions.${name}`, `cannot read ${f}`);
        }
      }
    }
    if (problems.length === before) {
      // Readable is not enough: a file that is not PEM, or a key of another certificate, failed only at listen.
      try {
        tls.createSecureContext({ cert: fs.readFileSync(h.CertFile), key: fs.readFileSync(h.KeyFile) });
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        p('HttpServerOptions.CertFile', `${h.CertFile} and KeyFile ${h.KeyFile} are not a PEM certificate and its unencrypted private key (${why})`);
      }
    }
  }
  if (!['text', 'json'].includes(c.LogFormat)) p('LogFormat', `must be "text" or "json", got ${JSON.stringify(c.LogFormat)}`);
  if (c.ProfileBackupCount < 1) p('ProfileBackupCount', 'must be at least 1');
  for (const h of c.AllowedIdPHosts) {
    const problem = hostPatternProblem(h);
    if (problem) p('AllowedIdPHosts', problem);
  }
  if (c.TykAPISettings.Timeout < 1) p('TykAPISettings.Timeout', 'must be at least 1 second');
  if (c.LoginStartsPerMinute < 0 || c.LoginStartsPerMinute > MAX_LOGIN_STARTS_PER_MINUTE) {
    p('LoginStartsPerMinute', `must be between 0 (no limit) and ${MAX_LOGIN_STARTS_PER_MINUTE}, got ${c.LoginStartsPerMinute}`);
  }
  for (const problem of bruteForceProblems(c.BruteForce)) p(`BruteForce.${problem.field}`, problem.message);
  for (const problem of opsSettingsProblems(c)) p(problem.field, problem.message);
  for (const t of c.TrustedProxies) {
    const problem = trustedProxyProblem(t);
    if (problem) p('TrustedProxies', problem);
  }
  if (c.SSLInsecureSkipVerify) warnings.push(`${name('SSLInsecureSkipVerify')} is true: TLS certificates of identity providers are NOT verified`);
  // A warning, not a refusal: TIB accepts any Secret and operators' files must keep loading (the admin API also throttles guessing: src/http/admin-api.ts).
  if (c.Secret !== '' && c.Secret.length < MIN_ADMIN_SECRET_LENGTH) {
    warnings.push(`${name('Secret')} (the admin API secret) is ${c.Secret.length} characters: a short secret can be guessed; use at least ${MIN_ADMIN_SECRET_LENGTH}, e.g. the output of: openssl rand -base64 32`);
  }
  if (h.UseSSL && h.SSLInsecureSkipVerify) warnings.push(`${name('HttpServerOptions.SSLInsecureSkipVerify')} is true: TLS certificates of the Tyk Dashboard and Gateway are NOT verified`);
}

/** A limit of login starts above this is no limit at all: surely a typo. */
const MAX_LOGIN_STARTS_PER_MINUTE = 1_000_000;

/** The admin secret's length below which load and --check warn. */
export const MIN_ADMIN_SECRET_LENGTH = 32;

export function loadConfig(opts: { confPath: string; env: NodeJS.ProcessEnv }): LoadedConfig {
  const { confPath, env } = opts;
  const file = path.basename(confPath);
  const problems: string[] = [];
  const warnings: string[] = [];
  const tree = defaultsOf(SCHEMA);
  const omit = (env.TYK_IB_OMITCONFIGFILE ?? '').toLowerCase() === 'true';

  let json: Obj | undefined;
  if (omit) {
    if (fs.existsSync(confPath)) warnings.push(`${confPath}: ignored because TYK_IB_OMITCONFIGFILE=true`);
  } else {
    json = readFile(confPath, problems);
    if (json) applyJson(tree, json, SCHEMA, [], file, problems, warnings);
  }

  const fromEnv = new Set<string>();
  for (const { leaf, jsonPath, env: variable } of leaves()) {
    if (variable === undefined || env[variable] === undefined) continue;
    const parsed = parseEnv(leaf, env[variable]);
    fromEnv.add(jsonPath.join('.'));
    if (parsed.ok) setPath(tree, jsonPath, parsed.value);
    else problems.push(`${variable}: ${parsed.error}`);
  }
  const known = [...VARIABLES.values(), ...OTHER_VARIABLES];
  for (const variable of Object.keys(env)) {
    if (!variable.startsWith('TYK_IB_') || known.includes(variable)) continue;
    warnings.push(`${variable}: unknown variable, ignored${didYouMean(variable, known)}`);
  }
  if (!omit && json && Object.keys(json).length === 0 && fromEnv.size === 0) {
    warnings.push(`${file}: sets nothing: every setting has its default (no Dashboard or Gateway endpoint, no admin API Secret)`);
  }

  const newSecret = env.TYK_IB_SESSION_SECRET;
  const oldSecret = env.SESSION_SECRET;
  if (newSecret !== undefined && oldSecret !== undefined) warnings.push('TYK_IB_SESSION_SECRET and SESSION_SECRET are both set: SESSION_SECRET is ignored');
  else if (oldSecret !== undefined) warnings.push('SESSION_SECRET is deprecated: use TYK_IB_SESSION_SECRET');
  const config = { ...tree, SessionSecret: newSecret ?? oldSecret ?? '', LogLevel: parseLogLevel(env.TYK_LOGLEVEL) } as unknown as Config;

  const source: ConfigSource = { file: omit ? undefined : file, fromEnv };
  validate(config, settingNamer(source), problems, warnings);
  if (problems.length > 0) throw new ConfigError(problems);
  registerConfigSecrets(config);
  return { config, warnings, source };
}

/** Mask every secret the config holds in all future log lines. */
export function registerConfigSecrets(config: Config): void {
  for (const { leaf, jsonPath } of leaves()) {
    if (!leaf.secret) continue;
    let v: unknown = config;
    for (const p of jsonPath) v = (v as Obj)[p];
    registerSecret(v);
  }
  registerSecret(config.SessionSecret);
}

/**
 * A copy of the config safe for a debug dump, with what the listeners will use (after TYK_IB_PORT and the
 * like): the effective Port (3010 for 0) and each listener's URL (`*`: all interfaces).
 */
export function describeConfig(config: Config): unknown {
  registerConfigSecrets(config);
  const port = config.Port || DEFAULT_PORT;
  const m = config.Management;
  const listening = {
    Main: listenUrl(config.HttpServerOptions.UseSSL, config.ListenAddress, port),
    Management: m.Port === 0 ? 'none (Management.Port is 0)' : listenUrl(false, m.Host, m.Port),
  };
  return { ...(redact(config) as object), Port: port, Listening: listening };
}
