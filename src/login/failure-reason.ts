/**
 * A failed login's class: one of the few values metrics and the audit log may carry. The free-text reason
 * (for the log) can hold anything; the label must not. The class is said where the failure is made
 * (LoginFailure.class); a failure without one is classed by the step that failed, its status and its
 * provider module's failureClasses, never by reading the text.
 */
import type { FailureReason } from '../metrics.js';
import type { FailureClasses } from '../providers/module.js';
import type { LoginFailure } from '../providers/provider.js';

/** provider: the provider's own step refused; pipeline: claims, constraints, mapping or the Tyk action. */
export type FailureStage = 'provider' | 'pipeline' | 'unexpected';

export function failureReason(stage: FailureStage, failure: Pick<LoginFailure, 'status' | 'class'>, classes: FailureClasses): FailureReason {
  if (stage === 'unexpected') return 'internal';
  if (failure.class) return failure.class;
  const { status } = failure;
  if (stage === 'pipeline') return status >= 500 ? 'tyk_error' : 'identity_incomplete';
  if (status === 401) return 'bad_credentials';
  if (status === 503) return 'unavailable';
  if (status === 502 || status === 504) return classes.unreachable;
  if (status >= 500) return 'internal';
  return classes.refused;
}
