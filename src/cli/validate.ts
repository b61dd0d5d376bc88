/** `profiles validate`: the broker's own validation of a profiles file or of a running broker's set. */
import { EXIT, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';
import { describeProblems, openTarget, printWarnings, validationRules } from './target.js';

export async function validateCommand(opts: CommandOptions, io: CliIo): Promise<number> {
  const target = await openTarget(opts, io, validationRules(opts, io));
  const listed = await target.list();
  printWarnings(io, listed);
  if (listed.problems.length > 0) {
    io.err(describeProblems(listed.problems));
    io.out(`invalid: ${target.name}: ${listed.problems.length} ${listed.problems.length === 1 ? 'problem' : 'problems'}`);
    return EXIT.failed;
  }
  const n = listed.profiles.length;
  io.out(`ok: ${target.name}: ${n} ${n === 1 ? 'profile' : 'profiles'} valid`);
  return EXIT.ok;
}
