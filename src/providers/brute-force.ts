/**
 * The brute-force guard as providers with a password (LDAP, the proxy provider's Basic auth) set it up:
 * `ProviderConfig.BruteForce` read and checked like tib.conf's, and one guard per profile over tib.conf's
 * settings, on Redis when login state is (shared by the replicas), else in this process.
 */
import type { BruteForceSettings } from '../config/types.js';
import type { Logger } from '../log.js';
import { bruteForceProblems } from '../config/brute-force.js';
import { BruteForceGuard } from '../state/brute-force.js';
import type { FieldReader } from '../profiles/fields.js';
import type { ProviderDeps } from './provider.js';

const BRUTE_FORCE_KEYS = ['UsernameLimit', 'IPLimit', 'WindowSeconds', 'BlockSeconds'] as const;

/** `ProviderConfig.BruteForce`: any of tib.conf's BruteForce keys, each checked like there. */
export function readBruteForce(r: FieldReader): Partial<BruteForceSettings> {
  const b = r.object('BruteForce');
  const out: Partial<BruteForceSettings> = {};
  for (const key of BRUTE_FORCE_KEYS) if (b.has(key)) out[key] = b.int(key);
  // Valid values for the keys not given, so only the given ones are judged.
  for (const problem of bruteForceProblems({ UsernameLimit: 0, IPLimit: 0, WindowSeconds: 1, BlockSeconds: 1, ...out })) b.error(problem.field, problem.message);
  for (const k of b.unknownKeys()) r.errors.push({ field: k, message: `unknown key; BruteForce takes ${BRUTE_FORCE_KEYS.join(', ')}` });
  return out;
}

/** One profile's guard: its override over tib.conf's settings. */
export function bruteForceGuard(profileId: string, override: Partial<BruteForceSettings>, deps: ProviderDeps, log: Logger): BruteForceGuard {
  return new BruteForceGuard({
    profileId,
    settings: { ...deps.config.BruteForce, ...override },
    log,
    // Shared by the replicas when login state is on Redis; otherwise counted in this process.
    redis: deps.config.BackEnd.Name === 'redis' ? deps.redis : undefined,
    keyPrefix: deps.keyPrefix,
    logSecret: deps.config.SessionSecret,
  });
}
