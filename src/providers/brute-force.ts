/**
 * `ProviderConfig.BruteForce` of the providers with a password (LDAP, the proxy provider's Basic auth), read
 * and checked like tib.conf's; the guard itself comes from the broker's services (services.ts).
 */
import type { BruteForceSettings } from '../config/types.js';
import { bruteForceProblems } from '../config/brute-force.js';
import type { FieldReader } from '../profiles/fields.js';

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
