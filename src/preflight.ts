/**
 * Everything the CLI checks before it starts a broker, all that --check does, and what `profiles validate -p`
 * checks (src/cli/validate.ts): one set of checks for the three. tib.conf (or the TYK_IB_* variables), the
 * profiles file, and what the profiles need from the configuration. Nothing is connected to and nothing is
 * written. Errors are what cannot work; warnings are what is probably a mistake (an unknown key, a near-miss
 * variable name, no admin Secret) and become errors with --strict.
 */
import { sampleSecretWarning } from './config/sample-secrets.js';
import path from 'node:path';
import { ConfigError, loadConfig, type LoadedConfig } from './config/load.js';
import type { Config } from './config/types.js';
import { adminApiOffWarning, checkProfileNeeds, checkSessionSecret } from './profiles/needs.js';
import { loadProfilesFile, realFs } from './profiles/file-store.js';
import { formatProblem } from './profiles/validate.js';
import { builtinProviders } from './providers/registry.js';

export interface PreflightOptions {
  /**
   * tib.conf. Undefined only for `profiles validate` without -c: then the profiles are checked against what
   * the environment alone decides (the session secret), not against a configuration.
   */
  confPath?: string;
  profilesPath: string;
  env: NodeJS.ProcessEnv;
  strict: boolean;
}

export interface PreflightResult {
  errors: string[];
  /** Empty with --strict: they are among the errors. */
  warnings: string[];
  /** Warnings createBroker logs itself when the broker starts: the profile file's own, and no admin Secret. */
  profileWarnings: string[];
  /** Undefined when tib.conf was rejected. */
  loaded?: LoadedConfig;
  profileCount: number;
  /** What --check says besides the verdict, never a problem (not counted, not made errors by --strict). */
  notes: string[];
}

/**
 * The per-address lockout counts every client behind an unlisted balancer as one (issue 17, finding 3): said
 * when a profile logs in without the login cookie (a password login: LDAP, the proxy provider) and IPLimit is
 * on with no TrustedProxies. A note, since a broker reached directly is right as it is.
 */
export function trustedProxiesNote(config: Config, profiles: readonly { ProviderName: string }[], cookieProviders: ReadonlySet<string> | readonly string[]): string | undefined {
  const cookie = new Set(cookieProviders);
  if (config.BruteForce.IPLimit <= 0 || config.TrustedProxies.length > 0 || !profiles.some((p) => !cookie.has(p.ProviderName))) return undefined;
  return 'BruteForce.IPLimit counts password logins per client address and TrustedProxies is empty: behind a load balancer or proxy, every client arrives from its address (past the limit each client it names in X-Forwarded-For is counted apart); list its address in TrustedProxies (TYK_IB_TRUSTEDPROXIES)';
}

export async function preflight(opts: PreflightOptions): Promise<PreflightResult> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const profileWarnings: string[] = [];
  const notes: string[] = [];
  let loaded: LoadedConfig | undefined;
  let profileCount = 0;
  if (opts.confPath !== undefined) {
    try {
      loaded = loadConfig({ confPath: opts.confPath, env: opts.env });
      warnings.push(...loaded.warnings);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(...err.problems);
    }
  }
  // Without a valid tib.conf the rules the profiles are checked against (AllowedIdPHosts) are unknown.
  if (loaded || opts.confPath === undefined) {
    const config = loaded?.config;
    // The start logs this itself (src/broker.ts), so it is with the profile warnings; the same text in both.
    const adminOff = config && adminApiOffWarning(config);
    if (adminOff) profileWarnings.push(adminOff);
    // Also logged by the start itself (src/broker.ts, once it knows the address it listens on).
    const sample = config && sampleSecretWarning(config, loaded?.source);
    if (sample) profileWarnings.push(sample);
    const profiles = await loadProfilesFile(path.resolve(opts.profilesPath), realFs, { allowedHosts: config?.AllowedIdPHosts, providers: builtinProviders });
    errors.push(...profiles.problems.map(formatProblem));
    profileWarnings.push(...profiles.warnings.map(formatProblem));
    profileCount = profiles.profiles.length;
    if (profiles.problems.length === 0) {
      const secretVariable = opts.env.TYK_IB_SESSION_SECRET === undefined && opts.env.SESSION_SECRET !== undefined ? 'SESSION_SECRET' : 'TYK_IB_SESSION_SECRET';
      const ctx = { profilesPath: opts.profilesPath, secretVariable, cookieProviders: builtinProviders.cookieProviders };
      // Without tib.conf, only what the environment decides: loadConfig reads the session secret the same way.
      const needs = loaded
        ? checkProfileNeeds(loaded.config, profiles.profiles, { ...ctx, source: loaded.source })
        : checkSessionSecret(opts.env.TYK_IB_SESSION_SECRET ?? opts.env.SESSION_SECRET ?? '', profiles.profiles, ctx);
      errors.push(...needs.errors);
      warnings.push(...needs.warnings);
      const note = loaded && trustedProxiesNote(loaded.config, profiles.profiles, builtinProviders.cookieProviders);
      if (note) notes.push(note);
      if (profileCount === 0) warnings.push(`${path.basename(opts.profilesPath)}: holds no profiles, so nobody can sign in (add one to the file, or through the admin API)`);
    }
  }
  if (opts.strict) {
    errors.push(...[...warnings, ...profileWarnings].map((w) => `${w} (a warning; an error with --strict)`));
    return { errors, warnings: [], profileWarnings: [], loaded, profileCount, notes };
  }
  return { errors, warnings, profileWarnings, loaded, profileCount, notes };
}

const count = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The sources as the verdict names them: the file, or the variables in env-only mode. */
function sources(r: PreflightResult, opts: PreflightOptions): string {
  const conf = r.loaded && r.loaded.source.file === undefined ? 'the TYK_IB_* variables' : (opts.confPath ?? 'the environment');
  return `${conf} and ${opts.profilesPath}`;
}

/**
 * The whole result as one text for one stream: stdout when valid (the verdict, then any warnings), stderr
 * when not (the verdict, every error, then the warnings). Each problem on its own line.
 */
export function report(r: PreflightResult, opts: PreflightOptions & { check: boolean }): { stream: 'stdout' | 'stderr'; text: string } {
  const warnings = [...r.warnings, ...r.profileWarnings].map((w) => `warning: ${w}`);
  if (r.errors.length === 0) {
    const head = `ok: ${sources(r, opts)} are valid (${count(r.profileCount, 'profile')}${warnings.length ? `, ${count(warnings.length, 'warning')}` : ''})`;
    return { stream: 'stdout', text: [head, ...warnings, ...(opts.check ? r.notes.map((n) => `note: ${n}`) : [])].join('\n') + '\n' };
  }
  const verb = opts.check ? 'are not valid' : 'cannot work, so the broker does not start';
  const head = `${sources(r, opts)} ${verb} (${count(r.errors.length, 'error')}${warnings.length ? `, ${count(warnings.length, 'warning')}` : ''}):`;
  return { stream: 'stderr', text: [head, ...r.errors.map((e) => `error: ${e}`), ...warnings].join('\n') + '\n' };
}
