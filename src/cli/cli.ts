/**
 * The profile tooling, for CI pipelines and operators: `profiles validate | export | import | diff` and
 * `explain`, on a profiles file or a running broker's admin API. Exit codes: 0 ok (valid, same, allowed),
 * 1 invalid, different, refused or failed, 2 usage. `portal check` (src/cli/portal-check.ts) also exits 2 when
 * the portal cannot be asked; `sync` (src/cli/sync.ts) when the run cannot be made.
 */
import { UsageError } from '../cli-args.js';
import { ConfigError } from '../config/load.js';
import { diffCommand } from './diff.js';
import { explainCommand } from './explain.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { CommandError, EXIT, processIo, type CliIo } from './io.js';
import { parseCommandArgs, type CommandOptions } from './options.js';
import { portalCheckCommand } from './portal-check.js';
import { syncCommand } from './sync.js';
import { validateCommand } from './validate.js';

export const COMMANDS_USAGE = `Profile tooling (exit 0 ok, 1 invalid / different / refused / failed, 2 usage):
  identity-broker profiles validate (-p <profiles.json> | --url <broker>) [-c tib.conf]
  identity-broker profiles export   (-p <profiles.json> | --url <broker>) [--redact]
  identity-broker profiles import <profiles.json> (-p <target.json> | --url <broker>)
  identity-broker profiles diff   <profiles.json> (-p <other.json> | --url <broker>)
  identity-broker explain --profile <ID> --claims <claims.json> [-p <profiles.json> | --url <broker>] [--username <name>] [--portal] [--json]
  identity-broker portal check [-c tib.conf] -p <profiles.json> [--json]
      every portal team a profile names, resolved against the live portal (exit 2: the portal cannot be asked)
  identity-broker sync <profile> [-c tib.conf] [-p <profiles.json>] [--dry-run] [--force] [--json]
      one directory sync run (exit 1: a change failed or the safety brake held; 2: the run cannot be made)
  With --url, the admin secret comes from TYK_IB_SECRET or --secret-file <path> (never a flag); plain
  http:// only to a loopback host, unless --insecure.`;

type Command = (opts: CommandOptions, io: CliIo) => Promise<number>;
const TARGET_FLAGS = ['p', 'url', 'secret-file', 'insecure', 'c', 'conf'];
const PROFILE_COMMANDS: Record<string, { run: Command; flags: string[] }> = {
  validate: { run: validateCommand, flags: TARGET_FLAGS },
  export: { run: exportCommand, flags: [...TARGET_FLAGS, 'redact'] },
  import: { run: importCommand, flags: TARGET_FLAGS },
  diff: { run: diffCommand, flags: TARGET_FLAGS },
};
const EXPLAIN_FLAGS = [...TARGET_FLAGS, 'profile', 'claims', 'username', 'json', 'portal'];
const PORTAL_CHECK_FLAGS = ['p', 'c', 'conf', 'json'];
const SYNC_FLAGS = ['p', 'c', 'conf', 'json', 'dry-run', 'force'];

/** Whether argv names a tooling command (TIB's own flags never start with a bare word). */
export function isToolCommand(argv: readonly string[]): boolean {
  return argv[0] === 'profiles' || argv[0] === 'explain' || argv[0] === 'portal' || argv[0] === 'sync';
}

export async function runToolCommand(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    if (argv[0] === 'explain') return await explainCommand(parseCommandArgs(argv.slice(1), EXPLAIN_FLAGS), io);
    if (argv[0] === 'portal') {
      if (argv[1] !== 'check') throw new UsageError(argv[1] ? `unknown command: portal ${argv[1]}` : 'portal needs a command: check');
      return await portalCheckCommand(parseCommandArgs(argv.slice(2), PORTAL_CHECK_FLAGS), io);
    }
    if (argv[0] === 'sync') return await syncCommand(parseCommandArgs(argv.slice(1), SYNC_FLAGS), io);
    const sub = PROFILE_COMMANDS[argv[1] ?? ''];
    if (!sub) throw new UsageError(argv[1] ? `unknown command: profiles ${argv[1]}` : 'profiles needs a command: validate, export, import or diff');
    return await sub.run(parseCommandArgs(argv.slice(2), sub.flags), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n${COMMANDS_USAGE}`);
      return EXIT.usage;
    }
    if (err instanceof CommandError || err instanceof ConfigError) {
      io.err(err.message);
      return EXIT.failed;
    }
    throw err;
  }
}
