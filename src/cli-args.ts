/**
 * TIB's command line (Go `flag` syntax: `-c x`, `-c=x`, `--conf=x`, `-conf x`, `-p x`), plus --check,
 * --help and --version. An unknown flag is a usage error (the CLI exits 2, as Go does).
 */
export interface CliArgs {
  confPath: string;
  profilesPath: string;
  check: boolean;
  /** Every warning is an error (with --check, and at startup). */
  strict: boolean;
  help: boolean;
  version: boolean;
}

export class UsageError extends Error {}

export const USAGE = `Usage: identity-broker [flags]
  -c, -conf, --conf <path>   configuration file (default "tib.conf")
  -p <path>                  profiles file (default "./profiles.json")
  --check                    validate the configuration and the profiles, then exit 0 (valid: the result on
                             stdout) or 1 (the problems on stderr); connects nowhere, changes nothing
  --strict                   treat every warning (unknown keys or variables, ...) as an error, in --check and at startup
  --version                  print the version
  -h, --help                 print this help`;

const VALUE_FLAGS: Record<string, 'confPath' | 'profilesPath'> = { c: 'confPath', conf: 'confPath', p: 'profilesPath' };
const BOOL_FLAGS: Record<string, 'check' | 'strict' | 'help' | 'version'> = { check: 'check', strict: 'strict', h: 'help', help: 'help', version: 'version' };

export function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = { confPath: 'tib.conf', profilesPath: './profiles.json', check: false, strict: false, help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break; // Go stops parsing flags here; positional arguments are ignored as in TIB.
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!m) continue;
    const name = m[1] as string;
    const inline = m[2];
    const valueKey = VALUE_FLAGS[name];
    const boolKey = BOOL_FLAGS[name];
    if (valueKey) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: -${name}`);
      out[valueKey] = value;
    } else if (boolKey) {
      if (inline !== undefined && !['true', 'false', '1', '0'].includes(inline)) throw new UsageError(`invalid boolean value ${JSON.stringify(inline)} for -${name}`);
      out[boolKey] = inline === undefined || inline === 'true' || inline === '1';
    } else {
      throw new UsageError(`flag provided but not defined: -${name}`);
    }
  }
  return out;
}
