/**
 * `portal check [-c tib.conf] -p profiles.json`: every team a portal profile names (UserGroupMapping values and
 * DefaultUserGroupID: IDs, `cid:` and `<organisation>/<team>`) resolved against the live portal through its admin
 * API, so an unknown one is found before a user meets it (src/portal/check.ts, the same check as the admin
 * API's profile writes). Exit 0 all resolve, 1 an unknown team (or a profile that needs the portal and has no
 * PortalAPIConfig), 2 the check could not be made: bad files, a portal unreachable or refusing the token.
 */
import fs from 'node:fs';
import { UsageError } from '../cli-args.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { checkProfileTeams, describeTeamProblem, describeTeamValue, loadDirectory, type ProfileTeamCheck } from '../portal/check.js';
import type { DirectorySnapshot } from '../portal/directory.js';
import { quote } from '../profiles/validate.js';
import { createTykApi, portalApiBase, type TykApi } from '../tyk/client.js';
import { builtinProviders } from '../providers/registry.js';
import { EXIT, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';
import { describeProblems, readProfilesFile } from './target.js';

/** The check could not be made (bad files, portal unreachable): distinct from "an unknown team" (1). */
export const EXIT_UNCHECKED = 2;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** tib.conf as the broker reads it (-c, default tib.conf); a missing default file leaves the TYK_IB_* variables alone. */
export function readConfig(opts: CommandOptions, io: CliIo): Config {
  const confPath = opts.confPath ?? 'tib.conf';
  const env = !opts.confPath && !fs.existsSync(confPath) ? { ...io.env, TYK_IB_OMITCONFIGFILE: 'true' } : io.env;
  return loadConfig({ confPath, env }).config;
}

export async function portalCheckCommand(opts: CommandOptions, io: CliIo): Promise<number> {
  if (!opts.profilesPath || opts.positional.length > 0) throw new UsageError('usage: portal check [-c tib.conf] -p <profiles.json> [--json]');
  const file = opts.profilesPath;
  let config: Config;
  try {
    config = readConfig(opts, io);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`error: ${opts.confPath ?? 'tib.conf'} is invalid (nothing was checked):\n${err.message}`);
    return EXIT_UNCHECKED;
  }
  let listed;
  try {
    listed = await readProfilesFile(file, { allowedHosts: config.AllowedIdPHosts, providers: builtinProviders });
  } catch (err) {
    io.err(`error: ${file} cannot be read (nothing was checked): ${err instanceof Error ? err.message : String(err)}`);
    return EXIT_UNCHECKED;
  }
  if (listed.problems.length > 0) {
    io.err(`error: ${file} has invalid profiles (nothing was checked):\n${describeProblems(listed.problems)}`);
    return EXIT_UNCHECKED;
  }

  const tyk = createTykApi(config);
  // One read per portal (endpoint and token), whatever the number of profiles naming it.
  const loads = new Map<string, Promise<DirectorySnapshot>>();
  const load = (t: TykApi, s: Config['TykAPISettings']['PortalAPIConfig']) => {
    const key = `${portalApiBase(s)}\n${s.AdminToken}`;
    let p = loads.get(key);
    if (!p) loads.set(key, (p = loadDirectory(t)));
    return p;
  };
  const results: Array<{ profile: string; check: ProfileTeamCheck }> = [];
  try {
    for (const p of listed.profiles) results.push({ profile: p.ID, check: await checkProfileTeams(p, { config, tyk, load }) });
  } finally {
    await tyk.close();
  }

  const lines: string[] = [];
  let unknown = 0;
  let unchecked = 0;
  let values = 0;
  let profiles = 0;
  const where = (id: string) => `${file}: profile ${quote(id)}`;
  for (const { profile, check: c } of results) {
    if (c.kind === 'none') continue;
    profiles++;
    values += c.values.length;
    if (c.kind === 'no-portal') {
      unknown++;
      lines.push(`${where(profile)}: names portal teams by name or CID or has "idp" Membership, but TykAPISettings.PortalAPIConfig.Endpoint is not set (tib.conf or the profile's own TykAPISettings)`);
    } else if (c.kind === 'unchecked') {
      io.err(`note: ${where(profile)}: plain team IDs (${c.values.map(describeTeamValue).join(', ')}) not checked: no PortalAPIConfig.Endpoint`);
    } else if (c.kind === 'unreachable') {
      unchecked++;
      lines.push(`${where(profile)}: not checked: the portal at ${c.portal} cannot be asked: ${c.reason}`);
    } else {
      unknown += c.problems.length;
      for (const x of c.problems) lines.push(`${where(profile)}: ${describeTeamProblem(x)}`);
    }
  }
  const code = unchecked > 0 ? EXIT_UNCHECKED : unknown > 0 ? EXIT.failed : EXIT.ok;
  if (opts.json) {
    io.out(JSON.stringify({ file, ok: code === EXIT.ok, profiles, values, results: results.filter((r) => r.check.kind !== 'none').map(({ profile, check }) => ({ profile, ...withoutTeams(check) })) }, null, 2));
    return code;
  }
  if (lines.length > 0) io.err(lines.map((l) => `error: ${l}`).join('\n'));
  const portals = loads.size;
  const scope = `${plural(values, 'team value')} in ${plural(profiles, 'portal profile')} against ${plural(portals, 'portal')}`;
  if (code === EXIT.ok) io.out(`ok: ${file}: ${scope}: every team resolves`);
  else if (code === EXIT.failed) io.out(`invalid: ${file}: ${plural(unknown, 'problem')} (${scope})`);
  else io.out(`unchecked: ${file}: ${plural(unchecked, 'profile')} could not be checked against ${plural(portals, 'portal')}${unknown > 0 ? `; ${plural(unknown, 'problem')} found in the others` : ''}`);
  return code;
}

/** The JSON report: the resolved teams by ID and name only (the snapshot adds nothing a reader needs). */
function withoutTeams(c: ProfileTeamCheck): Record<string, unknown> {
  if (c.kind !== 'checked') return c;
  const { teams, ...rest } = c;
  return { ...rest, resolved: teams.map((t) => ({ id: t.id, team: t.name, organisation: t.organisationName })) };
}
