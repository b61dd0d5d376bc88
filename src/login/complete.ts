/**
 * The login pipeline after a provider has an identity: claims -> constraints -> group mapping -> action.
 * Bad IdP data ends in a failure result with a reason; nothing here throws for it.
 */
import type { Action, ActionResult } from '../actions/action.js';
import { explainIdentity, type Explanation } from '../identity/explain.js';
import type { Identity } from '../identity/identity.js';
import { logsAt, type Logger } from '../log.js';
import type { Profile } from '../profiles/profile.js';

/** The action's result, and the explanation it was run on (the teams the audit log records). */
export interface CompletedLogin {
  result: ActionResult;
  explanation: Explanation;
}

export async function completeLogin(profile: Profile, identity: Identity, action: Action, log: Logger): Promise<CompletedLogin> {
  // The pipeline decides from the explanation itself, so what `explain` shows is what logins do.
  const explanation = explainIdentity(profile, identity);
  // Its metadata is built only at debug: below it, every login would allocate it for nothing.
  if (logsAt('debug')) log.debug('login explained', { profile: profile.ID, explanation });
  if (explanation.outcome === 'refused') {
    const { stage, reason } = explanation.failure;
    const constraint = stage === 'constraints';
    const result: ActionResult = {
      kind: 'failure',
      // A person no team is mapped to in "idp" membership is not let in, as a failed constraint is.
      failure: { reason, status: 400, message: constraint ? 'Constraint failed' : 'Login failed', class: constraint || stage === 'membership' ? 'constraint' : 'identity_incomplete' },
    };
    return { result, explanation };
  }
  const teams = explanation.teams.map((t) => t.team);
  const orgId = explanation.org?.value;
  const result = await action.run({
    profile,
    identity,
    teams,
    teamRules: explanation.teams,
    groups: explanation.groups?.value,
    email: explanation.email.value,
    displayName: explanation.displayName,
    userId: explanation.userId?.value ?? '',
    orgId,
  });
  if (result.kind !== 'failure') {
    const org = profile.CustomUserOrgField ? orgId : undefined;
    log.info('login succeeded', { profile: profile.ID, provider: identity.provider, user: identity.userId, teams: teams.length, ...(org !== undefined && { org }) });
  }
  return { result, explanation };
}
