/**
 * The import graph of src/ (docs/architecture.md): no circle, layers import downwards only, Express only at
 * the edge, and no file outside a provider's folder names a provider.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';

const SRC = path.resolve('src');

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

const files = walk(SRC).map((f) => path.relative(SRC, f).split(path.sep).join('/'));
const text = new Map(files.map((f) => [f, fs.readFileSync(path.join(SRC, f), 'utf8')]));

/** Every import (and `export ... from`) of a file: relative ones resolved to src paths, packages by name. */
function importsOf(file: string): Array<{ target: string; typeOnly: boolean }> {
  const out: Array<{ target: string; typeOnly: boolean }> = [];
  const re = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\('([^']+)'\)/gm;
  for (const m of (text.get(file) ?? '').matchAll(re)) {
    const spec = m[3] ?? m[4] ?? m[5] ?? '';
    const typeOnly = Boolean(m[2]);
    if (spec.startsWith('.')) out.push({ target: path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts'), typeOnly });
    else out.push({ target: spec, typeOnly });
  }
  return out;
}

/**
 * Layers, lowest first: a file may import its own layer and the ones below. A folder's rank is its first
 * path segment (or the file name for files at the root of src/), unless the file itself is listed.
 */
const LAYERS: string[][] = [
  // The Profile type is the shared vocabulary of every layer.
  ['log.ts', 'html.ts', 'metrics.ts', 'client-ip.ts', 'heap.ts', 'config', 'profiles/profile.ts'],
  ['identity', 'state', 'tyk'],
  ['profiles', 'portal'],
  ['providers', 'actions'],
  ['login', 'audit.ts', 'sync'],
  ['runtime.ts', 'services.ts'],
  ['http'],
  ['server.ts', 'broker.ts', 'preflight.ts', 'cli', 'cli-args.ts', 'main.ts'],
];
function rank(file: string): number {
  const head = file.split('/')[0] ?? file;
  const own = LAYERS.findIndex((l) => l.includes(file));
  const i = own >= 0 ? own : LAYERS.findIndex((l) => l.includes(head));
  if (i < 0) throw new Error(`${file}: not in any layer of test/unit/architecture.test.ts`);
  return i;
}

describe('the import graph of src/', () => {
  test('has no circle', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).map((i) => i.target).filter((t) => text.has(t))]));
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        circles.push([...trail.slice(trail.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) visit(t, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(circles).toEqual([]);
  });

  test('imports downwards only', () => {
    const upward = files.flatMap((f) => importsOf(f).filter((i) => text.has(i.target) && rank(i.target) > rank(f)).map((i) => `${f} -> ${i.target}`));
    expect(upward).toEqual([]);
  });

  test('only http/ imports express, apart from the Passport adapter and the proxy body stream', () => {
    const allowed = (f: string) => f.startsWith('http/') || f.startsWith('providers/passport/') || f === 'providers/proxy/upstream.ts';
    const users = files.filter((f) => importsOf(f).some((i) => i.target === 'express' || i.target === 'multer'));
    expect(users.filter((f) => !allowed(f))).toEqual([]);
  });

  test("no file outside a provider's folder names a provider", () => {
    const names = /['"`](ADProvider|SocialProvider|SAMLProvider|ProxyProvider|openid-connect|github|google|twitter|linkedin|dropbox|digitalocean|bitbucket|salesforce|gplus)['"`]/;
    const named = files.filter((f) => !/^providers\/[^/]+\//.test(f) && f !== 'providers/registry.ts' && names.test(text.get(f) ?? ''));
    expect(named).toEqual([]);
  });
});
