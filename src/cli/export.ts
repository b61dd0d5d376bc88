/** `profiles export`: the profiles as a profiles.json on stdout, secrets replaced with --redact. */
import { serializeProfiles } from '../profiles/file-store.js';
import { redact } from './compare.js';
import { EXIT, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';
import { listValid, openTarget, validationRules } from './target.js';

export async function exportCommand(opts: CommandOptions, io: CliIo): Promise<number> {
  const target = await openTarget(opts, io, validationRules(opts, io));
  const profiles = await listValid(target);
  io.out(serializeProfiles(opts.redact ? profiles.map(redact) : profiles));
  return EXIT.ok;
}
