/**
 * Jest in ESM mode (openid-client and oidc-provider are ESM-only), in four projects:
 * - unit: pure code, no servers and no child processes (the fast loop, `npm run test:unit`);
 * - integration: the broker against real servers on loopback (slapd, Redis, an OP, a SAML IdP, the Tyk stub);
 * - e2e: the built CLI in processes of its own, Chromium, the demo, the container files;
 * - slow: soaks and clock-bound checks that take minutes.
 * `npm run test:only` runs all four; `--selectProjects NAME` one of them.
 */
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 30000,
  setupFilesAfterEnv: ['<rootDir>/test/support/setup.ts'],
};

/** Builds dist/ once per run (the setup skips a second build), for the projects that run compiled code. */
const buildDist = '<rootDir>/test/support/global-setup.js';

const project = (name, extra = {}) => ({ ...shared, displayName: name, roots: [`<rootDir>/test/${name}`], testMatch: ['**/*.test.ts'], ...extra });

export default {
  projects: [project('unit'), project('integration', { globalSetup: buildDist }), project('e2e', { globalSetup: buildDist }), project('slow')],
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
};
