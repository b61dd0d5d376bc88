/** tib.conf's `BruteForce` (and a profile's `ProviderConfig.BruteForce`) checked: the guard is src/state/brute-force.ts. */
import type { BruteForceSettings } from './types.js';

const MAX_SECONDS = 604_800; // a week
const MAX_LIMIT = 1_000_000;

/** What is wrong with a BruteForce object (tib.conf or a profile's), each naming its key. */
export function bruteForceProblems(s: BruteForceSettings): Array<{ field: keyof BruteForceSettings; message: string }> {
  const out: Array<{ field: keyof BruteForceSettings; message: string }> = [];
  for (const field of ['UsernameLimit', 'IPLimit'] as const) {
    if (s[field] < 0 || s[field] > MAX_LIMIT) out.push({ field, message: `must be between 0 (off) and ${MAX_LIMIT}, got ${s[field]}` });
  }
  for (const field of ['WindowSeconds', 'BlockSeconds'] as const) {
    if (s[field] < 1 || s[field] > MAX_SECONDS) out.push({ field, message: `must be between 1 and ${MAX_SECONDS} seconds, got ${s[field]}` });
  }
  return out;
}
