/**
 * Where the profile commands read and write: a profiles file (-p), or a running broker's admin API (--url,
 * with the admin secret from TYK_IB_SECRET or --secret-file). Both give the profiles as the broker holds
 * them (validated) and apply creations and updates; nothing else (no deletes: an import only adds or changes).
 */
import fs from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import path from 'node:path';
import { defaultConfig, loadConfig } from '../config/load.js';
import { loadProfilesFile, saveProfilesFile } from '../profiles/file-store.js';
import { isPlainObject } from '../profiles/fields.js';
import type { Profile } from '../profiles/profile.js';
import { formatProblem, validateProfileList, type ProfileProblem, type ValidationRules } from '../profiles/validate.js';
import { UsageError } from '../cli-args.js';
import { builtinProviders } from '../providers/registry.js';
import { CommandError, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';

export interface Listed {
  profiles: Profile[];
  problems: ProfileProblem[];
  warnings: ProfileProblem[];
}

export interface ProfileTarget {
  /** The file path or the URL, for messages. */
  name: string;
  list(): Promise<Listed>;
  create(p: Profile): Promise<void>;
  update(p: Profile): Promise<void>;
  /** Writes the changes made (a file target saves once, atomically). */
  commit(): Promise<void>;
  /** A running broker's admin API (--url targets only); `warnings` collects the answer's `Warnings`. */
  api?: (method: string, route: string, body?: unknown, warnings?: string[]) => Promise<unknown>;
}

/** Every problem of a listing, one per line. */
export function describeProblems(problems: readonly ProfileProblem[]): string {
  return problems.map(formatProblem).join('\n');
}

/** A listing's warnings (unknown keys with "did you mean"), one per line on stderr, as validate prints them. */
export function printWarnings(io: CliIo, listed: Listed): void {
  if (listed.warnings.length > 0) io.err(describeProblems(listed.warnings).replace(/^/gm, 'warning: '));
}

/** tib.conf's rules for profiles, when -c names one; none otherwise. */
export function validationRules(opts: CommandOptions, io: CliIo): ValidationRules {
  if (!opts.confPath) return { providers: builtinProviders };
  const { config } = loadConfig({ confPath: opts.confPath, env: io.env });
  return { allowedHosts: config.AllowedIdPHosts, providers: builtinProviders };
}

/** A file of profiles to read (validated with the broker's own rules). */
export async function readProfilesFile(file: string, rules: ValidationRules): Promise<Listed> {
  return loadProfilesFile(file, undefined, rules);
}

function fileTarget(file: string, rules: ValidationRules, creating: boolean): ProfileTarget {
  let current: Profile[] | undefined;
  return {
    name: file,
    async list() {
      const exists = await fs.stat(file).then(
        () => true,
        () => false,
      );
      // An import may create the file; every other command reports it missing (loadProfilesFile does).
      if (!exists && creating) {
        current = [];
        return { profiles: [], problems: [], warnings: [] };
      }
      const loaded = await readProfilesFile(file, rules);
      current = loaded.profiles;
      return loaded;
    },
    async create(p) {
      current = [...(current ?? []), p];
    },
    async update(p) {
      current = (current ?? []).map((q) => (q.ID === p.ID ? p : q));
    },
    async commit() {
      if (!current) return;
      // As the broker saves: a backup of the old file beside it, then an atomic replace with the same mode.
      try {
        await saveProfilesFile(file, current, { backupDir: path.dirname(file), keep: defaultConfig().ProfileBackupCount });
      } catch (err) {
        throw new CommandError(`cannot save ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; nothing was changed`);
      }
    },
  };
}

/** The admin secret: TYK_IB_SECRET, or the first line of --secret-file. */
async function adminSecret(opts: CommandOptions, io: CliIo): Promise<string> {
  if (opts.secretFile) {
    const text = await fs.readFile(opts.secretFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new CommandError(`cannot read --secret-file ${opts.secretFile}: ${err.code ?? err.message}`);
    });
    // As SAML's CertLocation (src/providers/saml/sp-key.ts looseMode): used, but the operator is told.
    const perms = (await fs.stat(opts.secretFile)).mode & 0o777;
    if ((perms & 0o077) !== 0) io.err(`warning: --secret-file ${opts.secretFile} holds the admin secret and is readable by others (mode ${perms.toString(8).padStart(3, '0')}); chmod 600 it`);
    return text.split(/\r?\n/)[0] ?? '';
  }
  const secret = io.env.TYK_IB_SECRET ?? '';
  if (secret === '') throw new UsageError('--url needs the admin secret: set TYK_IB_SECRET or pass --secret-file');
  return secret;
}

/** localhost, 127.0.0.0/8 and ::1: plain http there never leaves the machine. */
function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

/**
 * One admin-API call: the envelope's Data, or a CommandError with the envelope's Error and the status. The
 * envelope's `Warnings` (ours: a profile's ignored keys, src/http/admin-api.ts) go to `warnings`.
 */
export async function adminCall(base: string, secret: string, method: string, route: string, body?: unknown, warnings?: string[]): Promise<unknown> {
  const url = `${base.replace(/\/+$/, '')}/api/${route}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { Authorization: secret, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
      redirect: 'error',
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new CommandError(`${method} ${url}: ${cause}`);
  }
  const text = await res.text();
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch {
    throw new CommandError(`${method} ${url}: HTTP ${res.status}, not an admin-API answer`);
  }
  if (!res.ok || !isPlainObject(envelope) || envelope.Status !== 'ok') {
    const message = isPlainObject(envelope) && typeof envelope.Error === 'string' ? envelope.Error : 'unexpected answer';
    const hint = res.status === 401 ? ' (check TYK_IB_SECRET or --secret-file against the broker\'s Secret)' : '';
    throw new CommandError(`${method} ${url}: HTTP ${res.status}: ${message}${hint}`);
  }
  if (warnings && Array.isArray(envelope.Warnings)) warnings.push(...envelope.Warnings.filter((w): w is string => typeof w === 'string'));
  return envelope.Data;
}

function urlTarget(base: string, secret: string, rules: ValidationRules): ProfileTarget {
  const id = (p: Profile) => `profiles/${encodeURIComponent(p.ID)}`;
  return {
    name: base,
    async list() {
      const data = await adminCall(base, secret, 'GET', 'profiles');
      return validateProfileList(data ?? [], base, rules);
    },
    async create(p) {
      await adminCall(base, secret, 'POST', id(p), p);
    },
    async update(p) {
      await adminCall(base, secret, 'PUT', id(p), p);
    },
    // Each call is applied (and persisted) by the broker as it is made.
    async commit() {},
    api: (method, route, body, warnings) => adminCall(base, secret, method, route, body, warnings),
  };
}

/** The target named by -p or --url (exactly one). */
export async function openTarget(opts: CommandOptions, io: CliIo, rules: ValidationRules, creating = false): Promise<ProfileTarget> {
  if (opts.url && opts.profilesPath) throw new UsageError('give either -p <profiles.json> or --url <broker>, not both');
  if (opts.url) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new UsageError('--url must be an http:// or https:// URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be an http:// or https:// URL, got ${url.protocol}`);
    // Echoed in messages, so no password may ride in it; the admin secret has its own channels.
    if (url.username || url.password) throw new UsageError('--url must not hold credentials: the admin secret comes from TYK_IB_SECRET or --secret-file');
    // Every call carries the admin secret in its Authorization header: in clear over the network, anyone on the path has it.
    if (url.protocol === 'http:' && !isLoopback(url.hostname) && !opts.insecure) {
      throw new UsageError(`--url ${url.protocol}//${url.host} would send the admin secret in clear over the network: use https://, or pass --insecure`);
    }
    return urlTarget(opts.url, await adminSecret(opts, io), rules);
  }
  if (opts.profilesPath) return fileTarget(opts.profilesPath, rules, creating);
  throw new UsageError('name the profiles: -p <profiles.json> or --url <broker>');
}

/** A target's profiles, or a CommandError naming every problem (commands refuse to work on a broken set). */
export async function listValid(target: ProfileTarget, what = target.name): Promise<Profile[]> {
  const listed = await target.list();
  if (listed.problems.length > 0) throw new CommandError(`${what} has invalid profiles:\n${describeProblems(listed.problems)}`);
  return listed.profiles;
}
