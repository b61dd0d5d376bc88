/**
 * The providers that keep a login in flight in a sealed browser cookie (SocialProvider, SAMLProvider:
 * state/login-flow-cookie.ts, its key derived from it) need TYK_IB_SESSION_SECRET. The same rule as --check (profiles/needs.ts), so an embedding application that
 * builds brokers directly is refused too.
 */
import { MIN_SESSION_SECRET } from '../config/session-secret.js';
import type { Profile } from '../profiles/profile.js';
import { ProviderSetupError } from './provider.js';

/** The secret, or a ProviderSetupError naming the profile and the fix. */
export function requireCookieSecret(profile: Pick<Profile, 'ID' | 'ProviderName'>, secret: string): string {
  if (secret.length >= MIN_SESSION_SECRET) return secret;
  const got = secret ? `has only ${secret.length} characters` : 'is not set';
  throw new ProviderSetupError(`${profile.ProviderName} profile "${profile.ID}" signs its login cookie with TYK_IB_SESSION_SECRET, which ${got}: set it to a random string of at least ${MIN_SESSION_SECRET} characters and restart`);
}
