/**
 * `npm ci` on npm 11 runs a dependency's install scripts only when package.json `allowScripts` names it, and
 * warns about every other one ("N packages have install scripts not yet covered by allowScripts"). Both
 * packages of the lock file with an install script are named, and nothing else: @parcel/watcher builds from
 * source only when asked (npm_config_build_from_source), unrs-resolver checks its prebuilt binding; both
 * come with their binaries as optional dependencies. By hand: `npm ci --dry-run 2>&1 | grep install-scripts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as Record<string, unknown>;

it('allowScripts names exactly the locked packages that have install scripts', () => {
  const lock = read('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = Object.entries(lock.packages)
    .filter(([where, p]) => where !== '' && p.hasInstallScript)
    .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length));
  const allowed = (read('package.json').allowScripts ?? {}) as Record<string, boolean>;
  expect(Object.keys(allowed).sort()).toEqual([...new Set(withScripts)].sort());
  expect(Object.values(allowed).every((v) => v === true)).toBe(true);
});
