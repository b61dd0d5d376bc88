/**
 * The flags of the `profiles` and `explain` commands, in the Go `flag` syntax TIB's own flags use
 * (`-p x`, `--url=x`). Secrets are never flags: the admin secret comes from TYK_IB_SECRET or --secret-file,
 * so it stays out of shell history and `ps`.
 */
import { UsageError } from '../cli-args.js';

export interface CommandOptions {
  /** -p: a profiles file to read or change. */
  profilesPath?: string;
  /** -c / --conf: tib.conf, for the validation rules it sets (AllowedIdPHosts). */
  confPath?: string;
  /** --url: a running broker, through its admin API. */
  url?: string;
  secretFile?: string;
  redact: boolean;
  json: boolean;
  /** --portal (explain): ask the portal's admin API for the teams and the account as it is (read only). */
  portal: boolean;
  /** --insecure: allow --url http:// to a host other than loopback (the admin secret then crosses the network in clear). */
  insecure: boolean;
  /** --dry-run (sync): print the plan, write nothing. */
  dryRun: boolean;
  /** --force (sync): apply deprovisions past the safety brake (Sync.MaxDeprovisionPercent). */
  force: boolean;
  profile?: string;
  claims?: string;
  username?: string;
  /** Arguments that are not flags, in order. */
  positional: string[];
}

type ValueKey = 'profilesPath' | 'confPath' | 'url' | 'secretFile' | 'profile' | 'claims' | 'username';
const VALUE_FLAGS: Record<string, ValueKey> = {
  p: 'profilesPath',
  c: 'confPath',
  conf: 'confPath',
  url: 'url',
  'secret-file': 'secretFile',
  profile: 'profile',
  claims: 'claims',
  username: 'username',
};
const BOOL_FLAGS: Record<string, 'redact' | 'json' | 'insecure' | 'portal' | 'dryRun' | 'force'> = { redact: 'redact', json: 'json', insecure: 'insecure', portal: 'portal', 'dry-run': 'dryRun', force: 'force' };

/** `allowed`: the flags this command takes; any other is a usage error. */
export function parseCommandArgs(argv: readonly string[], allowed: readonly string[]): CommandOptions {
  const out: CommandOptions = { redact: false, json: false, insecure: false, portal: false, dryRun: false, force: false, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!m || arg === '-') {
      out.positional.push(arg);
      continue;
    }
    const name = m[1] as string;
    if (!allowed.includes(name)) throw new UsageError(`flag provided but not defined: -${name}`);
    const valueKey = VALUE_FLAGS[name];
    const boolKey = BOOL_FLAGS[name];
    if (valueKey) {
      const value = m[2] ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`flag needs an argument: -${name}`);
      out[valueKey] = value;
    } else if (boolKey) {
      if (m[2] !== undefined && !['true', 'false', '1', '0'].includes(m[2])) throw new UsageError(`invalid boolean value ${JSON.stringify(m[2])} for -${name}`);
      out[boolKey] = m[2] === undefined || m[2] === 'true' || m[2] === '1';
    }
  }
  return out;
}
