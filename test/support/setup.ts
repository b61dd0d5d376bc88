// Keeps the broker's console logging out of test output; tests that assert on logs use captureLogs().
import fs from 'node:fs';
import { afterAll } from '@jest/globals';
import { rootLogger } from '../../src/log.js';

// The directories of the Redis servers this test file started (test/support/redis.ts), gone with the file.
afterAll(() => {
  for (const d of (globalThis as { __testRedisDirs?: Set<string> }).__testRedisDirs ?? []) fs.rmSync(d, { recursive: true, force: true });
});

rootLogger.transports.forEach((t) => (t.silent = true));

/**
 * oidc-provider's warnings about what the test OPs do on purpose (test/support/oidc-op.ts: state in its
 * in-memory adapter, its built-in dev interactions for the sign-in) and about Node 20, which `npm test` runs
 * besides Node 24 (scripts/test.sh). Printed by console.warn with a stack, they made passing suites look
 * broken. Only these warnings are dropped (`includes`: on a terminal they come wrapped in colour codes); any
 * other console output still shows.
 */
const EXPECTED_WARNINGS = [
  'oidc-provider WARNING: a quick start development-only in-memory adapter is used',
  'oidc-provider WARNING: a quick start development-only feature devInteractions is enabled',
  'oidc-provider WARNING: Unsupported runtime.',
];
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  const first = args[0];
  if (typeof first === 'string' && EXPECTED_WARNINGS.some((w) => first.includes(w))) return;
  warn(...args);
};
