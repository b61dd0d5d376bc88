/**
 * A failed login's reason as one of the few values metrics and the audit log may carry. The free-text reason
 * (for the log) can hold anything; the label must not, so the class is decided from where the login failed,
 * the status the failure carries and the provider type, never by echoing the text.
 */
import type { FailureReason } from '../metrics.js';
import type { LoginFailure } from '../providers/provider.js';

/** provider: the provider's own step refused; pipeline: claims, constraints, mapping or the Tyk action. */
export type FailureStage = 'provider' | 'pipeline' | 'unexpected';

export function failureReason(stage: FailureStage, failure: Pick<LoginFailure, 'status' | 'reason' | 'message'>, providerName: string): FailureReason {
  if (stage === 'unexpected') return 'internal';
  const { status } = failure;
  if (stage === 'pipeline') {
    if (failure.message === 'Constraint failed') return 'constraint';
    if (status >= 500) return 'tyk_error';
    return 'identity_incomplete';
  }
  // The brute-force guard's refusals all start so (login/brute-force.ts).
  if (failure.reason.startsWith('locked out')) return 'locked_out';
  if (status === 401) return 'bad_credentials';
  if (status === 503) return 'unavailable';
  if (status === 502 || status === 504) {
    if (providerName === 'ADProvider') return 'directory_error';
    if (providerName === 'ProxyProvider') return 'upstream_error';
    return 'idp_error';
  }
  if (status >= 500) return 'internal';
  // A URL naming a provider the profile lacks (social.ts): the client's mistake, the IdP was never asked.
  if (failure.reason.startsWith('no provider for ')) return 'bad_request';
  if (providerName === 'SocialProvider' || providerName === 'SAMLProvider') {
    // The callback's state checks (social.ts): missing, unknown, expired, replayed or another browser's.
    return /\bstate\b/.test(failure.reason) ? 'state_invalid' : 'idp_error';
  }
  return 'bad_request';
}
