/**
 * `sync <profile> [-c tib.conf] [-p profiles.json] [--dry-run] [--force] [--json]`: one directory sync run of a
 * profile with a `Sync` block (issue 20, item 3; src/sync/engine.ts), as the broker would run it: the broker's own
 * services (src/services.ts: on Redis with `BackEnd.Name: "redis"`, so the managed accounts, the links and the
 * lock are the replicas' own), the profile's provider listing its people, and the broker's runner
 * (src/sync/runner.ts: the sync lock, the audit events, the metrics and the last run, as a scheduled run).
 * Prints the plan (--dry-run, nothing written) or what was applied. Exit 0 no errors, 1 some changes failed or the
 * safety brake held, 2 the run could not be made: bad files, unknown profile or no Sync block, a provider that
 * cannot list people, a directory or portal that cannot be asked, the lock held by another runner.
 */
import { UsageError } from '../cli-args.js';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/types.js';
import { getLogger, setOwnedSecrets } from '../log.js';
import { configForProfile } from '../profiles/tyk-settings.js';
import { quote } from '../profiles/validate.js';
import type { Provider } from '../providers/provider.js';
import { builtinProviders } from '../providers/registry.js';
import { createServices, type Services } from '../services.js';
import type { SyncReport } from '../sync/engine.js';
import { SyncRunError, SyncRunner } from '../sync/runner.js';
import { peopleLister } from '../sync/sources.js';
import { EXIT, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';
import { readConfig } from './portal-check.js';
import { describeProblems, readProfilesFile } from './target.js';

/** The run could not be made (bad input, a counterpart that cannot be asked, the lock held). */
export const EXIT_NOT_RUN = 2;

const USAGE = 'usage: sync <profile> [-c tib.conf] [-p profiles.json] [--dry-run] [--force] [--json]';

const KINDS = ['create', 'update', 'unchanged', 'skipped', 'deactivate', 'delete', 'kept'] as const;

/** The report for a terminal: counts per kind, then one line per change (the person, the account, the fields). */
export function formatSyncReport(r: SyncReport): string {
  const head = r.dryRun ? `sync ${quote(r.profile)}: dry run, nothing written; the plan` : `sync ${quote(r.profile)}: applied`;
  const lines = [`${head}: ${r.listed} listed in the directory, ${r.outOfScope} out of scope (refused or no team)`];
  lines.push(`  ${KINDS.map((k) => `${k} ${r.counts[k]}`).join(', ')}`);
  for (const c of r.changes) {
    const who = [c.email, c.account !== undefined ? `account ${c.account}` : undefined].filter(Boolean).join(' ');
    const fields = c.fields?.length ? `: ${c.fields.join(', ')}` : '';
    lines.push(`  ${c.kind.padEnd(10)} ${who}${fields}${c.error !== undefined ? `  FAILED: ${c.error}` : ''}`);
  }
  if (r.errors > 0) lines.push(`  ${r.errors} change(s) failed and were left as they were; the next run converges`);
  return lines.join('\n');
}

export async function syncCommand(opts: CommandOptions, io: CliIo): Promise<number> {
  const id = opts.positional[0];
  if (!id || opts.positional.length > 1) throw new UsageError(USAGE);
  const file = opts.profilesPath ?? './profiles.json';
  const fail = (message: string) => {
    io.err(`error: ${message}`);
    return EXIT_NOT_RUN;
  };

  let config: Config;
  try {
    config = readConfig(opts, io);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return fail(`${opts.confPath ?? 'tib.conf'} is invalid (nothing was synced):\n${err.message}`);
  }
  let listed;
  try {
    listed = await readProfilesFile(file, { allowedHosts: config.AllowedIdPHosts, providers: builtinProviders });
  } catch (err) {
    return fail(`${file} cannot be read (nothing was synced): ${err instanceof Error ? err.message : String(err)}`);
  }
  if (listed.problems.length > 0) return fail(`${file} has invalid profiles (nothing was synced):\n${describeProblems(listed.problems)}`);
  const profile = listed.profiles.find((p) => p.ID === id);
  if (!profile) return fail(`${file} has no profile ${quote(id)}`);
  if (!profile.Sync) return fail(`${file}: profile ${quote(id)} has no Sync block: nothing to sync (docs/portal-membership.md)`);
  const settings = configForProfile(config, profile).TykAPISettings.PortalAPIConfig;
  if (settings.Endpoint === '') return fail(`${file}: profile ${quote(id)}: TykAPISettings.PortalAPIConfig.Endpoint is not set (tib.conf or the profile's own TykAPISettings)`);

  // A standalone process in memory mode remembers nothing between runs and shares nothing with the broker.
  if (config.BackEnd.Name !== 'redis') {
    io.err('note: tib.conf keeps the broker\'s state in its own process (BackEnd.Name is not "redis"): this run cannot see the accounts the broker manages, so it deprovisions nothing it did not create itself, and its lock does not exclude the broker\'s own runs');
  }

  const secretOwner = `sync-cli:${profile.ID}`;
  setOwnedSecrets(secretOwner, builtinProviders.profileSecrets(profile));
  let services: Services | undefined;
  let provider: Provider | undefined;
  try {
    services = await createServices(config, { connect: true });
    // Source "ldap" lists through the profile's own provider; Okta and SCIM through services.sync.
    if (profile.Sync.Source === 'ldap') {
      try {
        provider = await builtinProviders.createProvider(profile, services.provider);
      } catch (err) {
        return fail(`${file}: profile ${quote(id)} cannot be used: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const people = peopleLister(profile, provider, services.sync);
    if ('problem' in people) return fail(`${file}: ${people.problem}`);
    // The broker's own runner (src/sync/runner.ts): the same lock, audit events, metrics and last run (GET /api/sync/{profile}) as a scheduled run.
    const runner = new SyncRunner({
      profiles: () => [profile],
      compiled: () => ({ profile, ...(provider && { provider }) }),
      sources: services.sync,
      config,
      tyk: services.action.tyk,
      portal: services.action.portal,
      redis: services.redis,
      keyPrefix: config.BackEnd.KeyPrefix,
      log: getLogger('DIRECTORY SYNC'),
      audit: services.audit,
    });
    return print(await runner.runNow(profile.ID, { dryRun: opts.dryRun, force: opts.force }), opts, io);
  } catch (err) {
    if (!(err instanceof SyncRunError)) throw err;
    if (err.kind === 'busy') return fail(`another runner (a broker replica or another sync command) is syncing profile ${quote(id)} now; try again when it has finished`);
    // The runner keeps only the reason; a portal admin API call names itself (src/portal/api.ts PortalApiError).
    const where = /^(GET|POST|PUT|DELETE) \/portal-api\//.test(err.message) ? ` (the portal at ${settings.Endpoint} cannot be asked)` : '';
    return fail(`profile ${quote(id)}: the sync failed${where}: ${err.message}`);
  } finally {
    await provider?.close().catch(() => undefined);
    await services?.close();
    setOwnedSecrets(secretOwner, []);
  }
}

function print(report: SyncReport, opts: CommandOptions, io: CliIo): number {
  const code = report.errors > 0 || report.brake ? EXIT.failed : EXIT.ok;
  if (report.brake) {
    const b = report.brake;
    io.err(
      `ERROR: the safety brake held: this run would deprovision ${b.wanted} of ${b.managed} managed account(s), more than MaxDeprovisionPercent (${b.limitPercent}%); none of them was deactivated or deleted. Check the directory and LDAPFilter; if it is right, rerun with --force`,
    );
  }
  io.out(opts.json ? JSON.stringify(report, null, 2) : formatSyncReport(report));
  return code;
}
