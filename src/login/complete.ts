/**
 * The login pipeline after a provider has an identity: claims -> constraints -> group mapping -> action.
 * Bad IdP data ends in a failure result with a reason; nothing here throws for it.
 */
import type { Action, ActionResult } from '../actions/action.js';
import { explainIdentity } from '../identity/explain.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../log.js';
import type { Profile } from '../profiles/profile.js';

const loginFailed = (reason: string, status = 400, message = 'Login failed'): ActionResult => ({ kind: 'failure', failure: { reason, status, message } });

export async function completeLogin(profile: Profile, identity: Identity, action: Action, log: Logger): Promise<ActionResult> {
  // The pipeline decides from the explanation itself, so what `explain` shows is what logins do.
  const explained = explainIdentity(profile, identity);
  log.debug('login explained', { profile: profile.ID, explanation: explained });
  if (explained.outcome === 'refused') {
    const { stage, reason } = explained.failure;
    return loginFailed(reason, 400, stage === 'constraints' ? 'Constraint failed' : 'Login failed');
  }
  const teams = explained.teams.map((t) => t.team);
  const result = await action.run({ profile, identity, teams, email: explained.email.value, displayName: explained.displayName });
  if (result.kind !== 'failure') {
    log.info('login succeeded', { profile: profile.ID, provider: identity.provider, user: identity.userId, teams: teams.length });
  }
  return result;
}
