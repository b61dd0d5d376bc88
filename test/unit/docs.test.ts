/**
 * The documentation stays true to the repository: the README is a short front door, every relative link in
 * README.md, CONTRIBUTING.md and docs/ reaches a file (and a heading, for a #fragment), every `npm run` the
 * docs name exists, no source comment cites a document outside the repository, and docs/configuration.md's
 * table is what the schema generates. The quick start itself (npm start's scripts/start.sh on the sample
 * files, /health answering 200) runs in test/e2e/cli.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { leaves } from '../../src/config/schema.js';
import { configTable, tableIn } from '../../scripts/config-doc.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(rel, keep));
    else if (keep(rel)) out.push(rel);
  }
  return out;
}

const pages = ['README.md', 'CONTRIBUTING.md', ...filesUnder('docs', (f) => f.endsWith('.md'))];

/** Markdown without fenced code blocks and inline code, where links are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered -1, -2, ... */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutFences = markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '');
  for (const [, text] of withoutFences.matchAll(/^#{1,6} (.*)$/gm)) {
    const slug = (text ?? '')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const [, target] of prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (target && !/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push(target);
  }
  return links;
}

describe('the README', () => {
  it('is a front door: under 250 lines, with the quick start, the test command and the demo', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThan(250);
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
    expect(readme).toContain('npm ci && npm run demo');
    // npm start is scripts/start.sh on the sample files: what test/e2e/cli.test.ts starts and asks /health.
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toContain('sh scripts/start.sh');
    expect(read('scripts/start.sh')).toContain('-c config/tib.conf.json -p profiles/profiles.json');
  });
});

describe('the docs', () => {
  it.each(pages)('%s: every relative link reaches a file, and a heading when it has a #fragment', (page) => {
    const broken: string[] = [];
    for (const link of relativeLinks(read(page))) {
      const [file = '', fragment] = link.split('#');
      const target = file === '' ? page : path.join(path.dirname(page), decodeURI(file));
      if (!fs.existsSync(path.join(root, target))) {
        broken.push(`${link}: no file ${target}`);
        continue;
      }
      if (fragment !== undefined && target.endsWith('.md') && !anchors(read(target)).has(fragment)) broken.push(`${link}: no heading #${fragment} in ${target}`);
    }
    expect(broken).toEqual([]);
  });

  it.each(pages.filter((p) => p.startsWith('docs/')))('%s starts with its title and one line saying what it covers', (page) => {
    const [title, blank, covers, after] = read(page).split('\n');
    expect(title).toMatch(/^# \S/);
    expect(blank).toBe('');
    expect(covers).toMatch(/^\S.*\S$/);
    expect(after).toBe('');
  });

  it('docs/README.md links every page of docs/', () => {
    const index = new Set(relativeLinks(read('docs/README.md')).map((l) => path.join('docs', l.split('#')[0] ?? '')));
    const missing = pages.filter((p) => p.startsWith('docs/') && p !== path.join('docs', 'README.md') && !index.has(p));
    expect(missing).toEqual([]);
  });

  it('name only files of the repository that exist (`src/...`, `test/...`, ...)', () => {
    const named = pages.flatMap((p) =>
      [...read(p).matchAll(/`((?:src|test|scripts|bench|demo|deploy|config|profiles|docs)\/[^`\s<>*]+)`/g)].map((m) => `${p}: ${m[1] ?? ''}`),
    );
    expect(named.filter((n) => !fs.existsSync(path.join(root, n.split(': ')[1] ?? '')))).toEqual([]);
  });

  it('name only npm scripts that exist', () => {
    const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
    const named = new Set(pages.flatMap((p) => [...read(p).matchAll(/npm run ([\w-]+(?::[\w-]+)*)/g)].map((m) => m[1] ?? '')));
    expect([...named].filter((s) => !scripts.includes(s))).toEqual([]);
  });

  it("docs/configuration.md's table is what src/config/schema.ts generates (scripts/config-doc.mjs --write)", () => {
    expect(tableIn(read('docs/configuration.md'))).toBe(configTable(leaves()));
  });
});

describe('source comments', () => {
  it('cite documents in the repository: docs/tib-behaviour.md §N.N, never the spec outside it', () => {
    const self = path.join('test', 'unit', 'docs.test.ts');
    const code = ['src', 'test', 'bench', 'demo'].flatMap((dir) => filesUnder(dir, (f) => /\.(ts|js|mjs|cjs)$/.test(f) && f !== self));
    const outside = [/\.\.\/shared\b/, /tib-compat\b/, /\bspec(?:ification)?\s*§?\s*\d+(?:\.\d+)?/i, /\bspec:?$/];
    const found = code.flatMap((file) =>
      // A file another change moved away since the listing is skipped.
      (fs.existsSync(path.join(root, file)) ? read(file) : '')
        .split('\n')
        .flatMap((line, i) => (outside.some((re) => re.test(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });
});
