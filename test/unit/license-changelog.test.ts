/**
 * The licence package.json declares is the one in LICENSE (MPL-2.0's text, as Debian ships it in
 * /usr/share/common-licenses/MPL-2.0), and CHANGELOG.md (Keep a Changelog) starts with the version
 * package.json names.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { license: string; version: string };

it('LICENSE holds the text of the licence package.json declares', () => {
  expect(pkg.license).toBe('MPL-2.0');
  const text = read('LICENSE');
  expect(text.split('\n')[0]).toBe('Mozilla Public License Version 2.0');
  expect(text).toContain('Exhibit A - Source Code Form License Notice');
});

it("CHANGELOG.md's first entry is package.json's version", () => {
  const first = /^## \[([^\]]+)\] - (\d{4}-\d{2}-\d{2})$/m.exec(read('CHANGELOG.md'));
  expect(first?.[1]).toBe(pkg.version);
});
