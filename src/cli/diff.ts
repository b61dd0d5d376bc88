/** `profiles diff <file>`: which profile IDs and fields differ between a file and a target (secrets masked). */
import { UsageError } from '../cli-args.js';
import type { Profile } from '../profiles/profile.js';
import { quote, type ProfileProblem } from '../profiles/validate.js';
import { changedFields } from './compare.js';
import { CommandError, EXIT, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';
import { describeProblems, openTarget, printWarnings, readProfilesFile, validationRules } from './target.js';

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

/**
 * The top-level keys one side holds and the broker ignores (a typo such as UserGroupMaping), which the other
 * does not: validation drops them, so diffProfiles cannot see them (a ProviderConfig typo is kept, and
 * diffProfiles shows it). One line each: `ID: key: only in a: unknown key, ignored; did you mean ...`. Pure.
 */
export function diffIgnoredKeys(a: readonly ProfileProblem[], b: readonly ProfileProblem[], nameA: string, nameB: string): string[] {
  const ignored = (list: readonly ProfileProblem[]) => list.filter((w) => w.profileId !== '' && w.field !== '' && !w.field.includes('.')).map((w) => ({ id: w.profileId, text: `${w.field}: ${w.message}` }));
  const left = ignored(a);
  const right = ignored(b);
  const missing = (from: typeof left, other: typeof left, name: string) =>
    from.filter((w) => !other.some((o) => o.id === w.id && o.text === w.text)).map((w) => `${quote(w.id)}: ${w.text.replace(': ', `: only in ${name}: `)}`);
  return [...missing(left, right, nameA), ...missing(right, left, nameB)];
}

export async function diffCommand(opts: CommandOptions, io: CliIo): Promise<number> {
  const [file, ...extra] = opts.positional;
  if (!file || extra.length > 0) throw new UsageError('profiles diff takes one file: profiles diff <profiles.json> (-p <other> | --url <broker>)');
  const rules = validationRules(opts, io);
  const left = await readProfilesFile(file, rules);
  if (left.problems.length > 0) throw new CommandError(`${file} has invalid profiles:\n${describeProblems(left.problems)}`);
  printWarnings(io, left);
  const target = await openTarget(opts, io, rules);
  const right = await target.list();
  if (right.problems.length > 0) throw new CommandError(`${target.name} has invalid profiles:\n${describeProblems(right.problems)}`);
  const lines = [...diffProfiles(left.profiles, right.profiles, file, target.name), ...diffIgnoredKeys(left.warnings, right.warnings, file, target.name)];
  if (lines.length === 0) {
    io.out(`same: ${file} and ${target.name} hold the same ${left.profiles.length} profiles`);
    return EXIT.ok;
  }
  io.out(lines.join('\n'));
  return EXIT.failed;
}
