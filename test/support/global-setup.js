// Builds dist/ once before the suite: the CLI and crash tests run the compiled broker in child processes.
// Two projects (integration, e2e) name this setup; the variable keeps one run from building twice.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function globalSetup() {
  if (process.env.TEST_DIST_BUILT) return;
  const root = path.resolve(import.meta.dirname, '../..');
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  process.env.TEST_DIST_BUILT = '1';
}
