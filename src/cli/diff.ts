/** `profiles diff <file>`: which profile IDs and fields differ between a file and a target (secrets masked). */
import { UsageError } from '../cli-args.js';
import type { Profile } from '../profiles/profile.js';
import { quote } from '../profiles/validate.js';
import { changedFields } from './compare.js';
import { CommandError, EXIT, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';
import { describeProblems, listValid, openTarget, printWarnings, readProfilesFile, validationRules } from './target.js';

/** One line per difference: `only in a: ID`, `only in b: ID`, `ID: field: "x" -> "y"`. Pure. */
export function diffProfiles(a: readonly Profile[], b: readonly Profile[], nameA: string, nameB: string): string[] {
  const lines: string[] = [];
  for (const p of a) {
    const q = b.find((x) => x.ID === p.ID);
    if (!q) lines.push(`only in ${nameA}: ${quote(p.ID)}`);
    else for (const c of changedFields(p, q)) lines.push(`${quote(p.ID)}: ${c.field}: ${c.change}`);
  }
  for (const q of b) if (!a.some((p) => p.ID === q.ID)) lines.push(`only in ${nameB}: ${quote(q.ID)}`);
  return lines;
}

export async function diffCommand(opts: CommandOptions, io: CliIo): Promise<number> {
  const [file, ...extra] = opts.positional;
  if (!file || extra.length > 0) throw new UsageError('profiles diff takes one file: profiles diff <profiles.json> (-p <other> | --url <broker>)');
  const rules = validationRules(opts, io);
  const left = await readProfilesFile(file, rules);
  if (left.problems.length > 0) throw new CommandError(`${file} has invalid profiles:\n${describeProblems(left.problems)}`);
  printWarnings(io, left);
  const target = await openTarget(opts, io, rules);
  const lines = diffProfiles(left.profiles, await listValid(target), file, target.name);
  if (lines.length === 0) {
    io.out(`same: ${file} and ${target.name} hold the same ${left.profiles.length} profiles`);
    return EXIT.ok;
  }
  io.out(lines.join('\n'));
  return EXIT.failed;
}
