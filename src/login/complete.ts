/**
 * The login pipeline after a provider has an identity: claims -> constraints -> group mapping -> action.
 * Bad IdP data ends in a failure result with a reason; nothing here throws for it.
 */
import type { Action, ActionResult } from '../actions/action.js';
import { resolveDisplayName, resolveEmail } from '../identity/claims.js';
import { checkConstraints } from '../identity/constraints.js';
import type { Identity } from '../identity/identity.js';
import { extractGroups, mapGroups } from '../identity/mapping.js';
import type { Logger } from '../log.js';
import type { Profile } from '../profiles/profile.js';

const loginFailed = (reason: string, status = 400, message = 'Login failed'): ActionResult => ({ kind: 'failure', failure: { reason, status, message } });

export async function completeLogin(profile: Profile, identity: Identity, action: Action, log: Logger): Promise<ActionResult> {
  const email = resolveEmail(profile, identity);
  if (!email.ok) return loginFailed(email.reason);
  const groups = extractGroups(profile, identity.raw);
  if (!groups.ok) return loginFailed(groups.reason);
  const allowed = checkConstraints(profile.ProviderConstraints, email.value, groups.value);
  if (!allowed.ok) return loginFailed(`constraint failed: ${allowed.reason}`, 400, 'Constraint failed');

  const teams = mapGroups(profile, groups.value);
  const result = await action.run({ profile, identity, teams, email: email.value, displayName: resolveDisplayName(identity, email.value) });
  if (result.kind !== 'failure') {
    log.info('login succeeded', { profile: profile.ID, provider: identity.provider, user: identity.userId, teams: teams.length });
  }
  return result;
}
