/**
 * Admin Secrets published in this repository's samples: anyone can read them, so the broker refuses to serve
 * the admin API (and /metrics on the main port, which the Secret opens) with one beyond loopback, and warns
 * on loopback. TIB accepts any Secret (docs/tib-behaviour.md §2.2) and an operator's own is never in this
 * list, so existing files keep working. test/unit/sample-secrets.test.ts scans the samples (config/,
 * tib.conf.example.json, deploy/, docs/, README.md, docker-compose.yml, .env examples) and fails when one
 * holds a Secret missing here; values once published stay listed.
 */
import { isLoopbackOnly } from './listen.js';
import { settingPhrase, type ConfigSource } from './load.js';
import type { Config } from './types.js';

export const SAMPLE_SECRETS: readonly string[] = [
  // config/tib.conf.json (npm start) and tib.conf.example.json, now and before.
  'change-me-admin-secret-use-openssl-rand-base64-32',
  'change-me-admin-secret',
  // docker-compose.yml's former defaults (the stack now reads its secrets from .env: scripts/compose-env.sh).
  'demo-admin-secret-change-me-use-openssl-rand-32',
  'demo-admin-secret-change-me',
];

export function isSampleSecret(secret: string): boolean {
  return secret !== '' && SAMPLE_SECRETS.includes(secret);
}

/** How to make a Secret of one's own: in every message about a sample or short Secret. */
export const MAKE_A_SECRET = 'openssl rand -base64 32';

/** The admin API's answer on a listener beyond loopback with a sample Secret (403; src/server.ts). */
export const SAMPLE_SECRET_REFUSAL = `the admin API is refused on this listener: its Secret is a sample published in the identity broker's repository, and the listener is not on loopback only; set a Secret of your own (tib.conf Secret or TYK_IB_SECRET), made with: ${MAKE_A_SECRET}`;

export interface SampleSecretFinding {
  /** True beyond loopback: the admin API and /metrics on the main port answer 403. */
  refused: boolean;
  message: string;
}

/**
 * What a sample Secret means for a listener on `address` (ListenAddress; empty: all interfaces), or undefined
 * when the Secret is not a sample. `setting` names where the Secret came from.
 */
export function sampleSecretFinding(secret: string, address: string, setting = 'Secret (tib.conf Secret or TYK_IB_SECRET)'): SampleSecretFinding | undefined {
  if (!isSampleSecret(secret)) return undefined;
  const sample = `${setting} is a sample published in the identity broker's repository`;
  if (isLoopbackOnly(address)) {
    return {
      refused: false,
      message: `${sample}: the admin API is served only because the broker listens on loopback (ListenAddress ${JSON.stringify(address)}); before listening beyond it, set a Secret of your own, made with: ${MAKE_A_SECRET}`,
    };
  }
  const where = address === '' ? 'on all interfaces (ListenAddress is empty)' : `on ${address} (ListenAddress), not on loopback only`;
  return {
    refused: true,
    message: `${sample} and the broker listens ${where}: the admin API and /metrics on the main port answer 403. Set a Secret of your own, made with: ${MAKE_A_SECRET} (or set ListenAddress to 127.0.0.1 to serve this host only)`,
  };
}

/** The same for `--check` (src/preflight.ts), naming the file's key or the variable that set the Secret. */
export function sampleSecretWarning(config: Config, source?: ConfigSource): string | undefined {
  const setting = source ? `${settingPhrase(source, 'Secret')} (the admin API secret)` : undefined;
  return sampleSecretFinding(config.Secret, config.ListenAddress, setting)?.message;
}
