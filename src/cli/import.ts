/**
 * `profiles import <file>`: creates the profiles the target lacks and updates those that differ, by ID;
 * the rest are unchanged, so running it twice changes nothing the second time. Every profile is checked
 * before anything is changed: one invalid (or redacted) profile refuses the whole import.
 */
import { UsageError } from '../cli-args.js';
import type { Profile } from '../profiles/profile.js';
import { quote } from '../profiles/validate.js';
import { redactedFields, sameProfile } from './compare.js';
import { CommandError, EXIT, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';
import { describeProblems, listValid, openTarget, printWarnings, readProfilesFile, validationRules } from './target.js';

export interface ImportPlan {
  created: Profile[];
  updated: Profile[];
  unchanged: Profile[];
}

/** What importing `incoming` into `current` does, by profile ID. Pure. */
export function planImport(incoming: readonly Profile[], current: readonly Profile[]): ImportPlan {
  const plan: ImportPlan = { created: [], updated: [], unchanged: [] };
  for (const p of incoming) {
    const now = current.find((q) => q.ID === p.ID);
    if (!now) plan.created.push(p);
    else if (sameProfile(now, p)) plan.unchanged.push(p);
    else plan.updated.push(p);
  }
  return plan;
}

export async function importCommand(opts: CommandOptions, io: CliIo): Promise<number> {
  const [file, ...extra] = opts.positional;
  if (!file || extra.length > 0) throw new UsageError('profiles import takes one file: profiles import <profiles.json> (-p <target> | --url <broker>)');
  const rules = validationRules(opts, io);
  const incoming = await readProfilesFile(file, rules);
  if (incoming.problems.length > 0) throw new CommandError(`nothing imported; ${file} has invalid profiles:\n${describeProblems(incoming.problems)}`);
  // An ignored key (a typo such as UserGroupMaping) would change what the imported profile does: say so.
  printWarnings(io, incoming);
  const redacted = incoming.profiles.flatMap((p) => redactedFields(p).map((f) => `profile ${quote(p.ID)}: ${f}: holds a redacted secret (export without --redact to copy secrets)`));
  if (redacted.length > 0) throw new CommandError(`nothing imported; ${file}:\n${redacted.join('\n')}`);

  const target = await openTarget(opts, io, rules, true);
  const plan = planImport(incoming.profiles, await listValid(target));
  for (const p of plan.created) await target.create(p);
  for (const p of plan.updated) await target.update(p);
  // Nothing to change: a file is not rewritten, so no backup piles up and a watching broker sees no change.
  if (plan.created.length + plan.updated.length > 0) await target.commit();

  const ids = (list: Profile[]) => (list.length > 0 ? `: ${list.map((p) => p.ID).join(', ')}` : '');
  io.out(`created ${plan.created.length}${ids(plan.created)}`);
  io.out(`updated ${plan.updated.length}${ids(plan.updated)}`);
  io.out(`unchanged ${plan.unchanged.length}${ids(plan.unchanged)}`);
  return EXIT.ok;
}
