/**
 * `profiles validate`: a profiles file checked as --check and the start check it (src/preflight.ts: with -c,
 * against that tib.conf; without, against what the environment decides, the session secret), or a running
 * broker's set through its admin API (which passed those checks when it started).
 */
import { preflight } from '../preflight.js';
import { EXIT, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';
import { formatProblem } from '../profiles/validate.js';
import { openTarget, printWarnings, validationRules } from './target.js';

/** Each on its own line, as --check prints them. */
const lines = (prefix: string, list: readonly string[]) => list.map((l) => `${prefix}: ${l}`).join('\n');

function verdict(io: CliIo, name: string, errors: readonly string[], profiles: number): number {
  if (errors.length > 0) {
    io.err(lines('error', errors));
    io.out(`invalid: ${name}: ${errors.length} ${errors.length === 1 ? 'problem' : 'problems'}`);
    return EXIT.failed;
  }
  io.out(`ok: ${name}: ${profiles} ${profiles === 1 ? 'profile' : 'profiles'} valid`);
  return EXIT.ok;
}

export async function validateCommand(opts: CommandOptions, io: CliIo): Promise<number> {
  if (opts.profilesPath && !opts.url) {
    const r = await preflight({ confPath: opts.confPath, profilesPath: opts.profilesPath, env: io.env, strict: false });
    const warnings = [...r.warnings, ...r.profileWarnings];
    if (warnings.length > 0) io.err(lines('warning', warnings));
    return verdict(io, opts.profilesPath, r.errors, r.profileCount);
  }
  const target = await openTarget(opts, io, validationRules(opts, io));
  const listed = await target.list();
  printWarnings(io, listed);
  return verdict(io, target.name, listed.problems.map(formatProblem), listed.profiles.length);
}
