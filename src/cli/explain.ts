/**
 * `explain --profile ID --claims claims.json`: what the profile would make of these claims or LDAP
 * attributes (email, user id, constraints, teams, and the rule behind each), from a profiles file or a
 * running broker (POST /api/profiles/{id}/explain). Exit 0 when the login would go on to the action, 1 when
 * it would be refused.
 */
import fs from 'node:fs/promises';
import { UsageError } from '../cli-args.js';
import { jsonSyntaxProblem } from '../config/json-syntax.js';
import type { Explanation } from '../identity/explain.js';
import { explainClaims, type LogoutView } from '../login/explain.js';
import { explainPortal, type PortalView } from '../portal/explain.js';
import { ClaimsError } from '../providers/module.js';
import { builtinProviders } from '../providers/registry.js';
import { isPlainObject } from '../profiles/fields.js';
import type { Profile } from '../profiles/profile.js';
import { quote } from '../profiles/validate.js';
import { CommandError, EXIT, type CliIo } from './io.js';
import type { CommandOptions } from './options.js';
import { readConfig } from './portal-check.js';
import { describeProblems, openTarget, validationRules } from './target.js';
import { createTykApi } from '../tyk/client.js';

/** An explanation, with the portal's view when asked for (--portal, `?portal=true`). */
export type Explained = Explanation & { portal?: PortalView; logout?: LogoutView };

/** The portal's view: the teams and organisation resolved, the teams dropped, and the account's difference. */
function formatPortal(v: PortalView, row: (label: string, value: string, rule?: string) => void): void {
  const what = { matches: 'the account already matches', differs: 'the login would update the account', create: 'the login would create the account', refused: 'the login would be refused', unreachable: 'the portal cannot be asked' }[v.outcome];
  row('portal', `${v.portal || '(none)'}: ${what}`, v.reason);
  if (v.organisation) row('portal org', `${quote(v.organisation.name)} (ID ${v.organisation.id})`, 'the organisation of the first mapped team (UserGroupMapping order)');
  for (const t of v.teams ?? []) row('portal team', `${quote(t.name)} (ID ${t.id})`, quote(t.ref));
  for (const d of v.dropped ?? []) row('dropped', quote(d.ref), d.why);
  if (v.account) row('account', `ID ${v.account.id}: organisation ${v.account.organisationId}, role ${quote(v.account.role)}, ${v.account.active ? 'active' : 'inactive'}, teams ${JSON.stringify(v.account.teams)}`);
  for (const c of v.changes ?? []) row('change', `${c.field}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`);
}

/** The explanation for a person: one line per step, its value and the rule that gave it. */
export function formatExplanation(x: Explained): string {
  const lines = [`profile ${quote(x.profile)} (${x.provider}): ${x.outcome === 'allowed' ? 'login allowed' : 'login refused'}`];
  const row = (label: string, value: string, rule?: string) => lines.push(`  ${label.padEnd(12)}${value}${rule ? `  <- ${rule}` : ''}`);
  if (x.email) row('email', quote(x.email.value), x.email.rule);
  if (x.displayName !== undefined) row('name', quote(x.displayName));
  // A step after the refusal did not run: "skipped", never a blank (or a "failed" it did not earn).
  const skipped = x.outcome === 'refused' ? `skipped: the login was refused at ${x.failure.stage}` : 'skipped';
  if (x.userId) row('user id', quote(x.userId.value), x.userId.rule);
  else if (x.outcome === 'refused' && x.failure.stage !== 'userId') row('user id', skipped);
  if (x.groups) row('IdP groups', x.groups.value === undefined ? '(none)' : JSON.stringify(x.groups.value), x.groups.rule);
  else row('IdP groups', skipped);
  if (x.constraints) {
    // The group is checked only when the domain passed (src/identity/explain.ts).
    const domainFailed = !x.constraints.Domain.passed;
    for (const [name, c] of Object.entries(x.constraints)) {
      if (name === 'Group' && domainFailed) row(name, 'skipped: the domain constraint failed');
      else row(`${name}`, c.passed ? 'passed' : 'failed', c.rule);
    }
  } else {
    row('Domain', skipped);
    row('Group', skipped);
  }
  if (x.teams) {
    if (x.teams.length === 0) row('teams', '(none: no mapped group and no DefaultUserGroupID)');
    for (const t of x.teams) row('team', quote(t.team), t.rule);
  } else row('teams', skipped);
  if (x.org) row('org', quote(x.org.value), x.org.rule);
  if (x.membership) {
    row('membership', `"idp": teams ${JSON.stringify(x.membership.teams)}`, x.membership.rule);
    row('role', quote(x.membership.role.value), x.membership.role.rule);
  }
  if (x.outcome === 'refused') row('refused', x.failure.reason, `at ${x.failure.stage}`);
  if (x.portal) formatPortal(x.portal, row);
  if (x.logout) row('logout', x.logout.on ? 'on' : 'off', x.logout.rule);
  return lines.join('\n');
}

function isExplanation(v: unknown): v is Explained {
  return isPlainObject(v) && typeof v.profile === 'string' && (v.outcome === 'allowed' || v.outcome === 'refused');
}

export async function explainCommand(opts: CommandOptions, io: CliIo): Promise<number> {
  if (!opts.profile || !opts.claims || opts.positional.length > 0) throw new UsageError('usage: explain --profile <ID> --claims <claims.json> (-p <profiles.json> | --url <broker>)');
  let claims: unknown;
  let text = '';
  try {
    text = await fs.readFile(opts.claims, 'utf8');
    claims = JSON.parse(text);
  } catch (err) {
    const why = err instanceof SyntaxError ? jsonSyntaxProblem(text, err) : ((err as NodeJS.ErrnoException).code ?? String(err));
    throw new CommandError(`cannot read --claims ${opts.claims}: ${why}`);
  }
  // The default profiles file, as the broker's own -p.
  const target = await openTarget({ ...opts, profilesPath: opts.url ? undefined : (opts.profilesPath ?? './profiles.json') }, io, validationRules(opts, io));
  const id = opts.profile;
  let explanation: unknown;
  // The profile's own warnings (an ignored UserGroupMaping may be why the teams are wrong), from the file or the broker.
  const warnings: string[] = [];
  if (target.api) {
    const params = new URLSearchParams({ ...(opts.username && { username: opts.username }), ...(opts.portal && { portal: 'true' }) }).toString();
    const query = params ? `?${params}` : '';
    explanation = await target.api('POST', `profiles/${encodeURIComponent(id)}/explain${query}`, claims, warnings);
  } else {
    const listed = await target.list();
    if (listed.problems.length > 0) throw new CommandError(`${target.name} has invalid profiles:\n${describeProblems(listed.problems)}`);
    const profile = listed.profiles.find((p) => p.ID === id);
    if (!profile) throw new CommandError(`${target.name} has no profile ${quote(id)}`);
    warnings.push(...listed.warnings.filter((w) => w.profileId === id).map((w) => (w.field ? `${w.field}: ${w.message}` : w.message)));
    try {
      explanation = explainClaims(builtinProviders, profile, claims, opts.username);
    } catch (err) {
      if (err instanceof ClaimsError) throw new CommandError(`${opts.claims}: ${err.message}`);
      throw err;
    }
    // --portal: the portal's admin API through tib.conf's (or the profile's own) PortalAPIConfig, read only.
    if (opts.portal) explanation = await withPortal(profile, explanation as Explained, opts, io);
  }
  if (!isExplanation(explanation)) throw new CommandError('the broker answered something that is not an explanation');
  for (const w of warnings) io.err(`warning: profile ${quote(id)}: ${w}`);
  if (opts.portal && !explanation.portal && explanation.outcome === 'allowed') io.err(`note: profile ${quote(id)} is not in "idp" membership (Membership.Authority): the portal was not asked`);
  io.out(opts.json ? JSON.stringify(explanation, null, 2) : formatExplanation(explanation));
  return explanation.outcome === 'allowed' && explanation.portal?.outcome !== 'refused' ? EXIT.ok : EXIT.failed;
}

async function withPortal(profile: Profile, x: Explained, opts: CommandOptions, io: CliIo): Promise<Explained> {
  const config = readConfig(opts, io);
  const tyk = createTykApi(config);
  try {
    const portal = await explainPortal(profile, x, { config, tyk });
    return portal ? { ...x, portal } : x;
  } finally {
    await tyk.close();
  }
}
