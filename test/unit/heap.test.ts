/**
 * The server's heap sizing (src/heap.ts): the flag it sets unless the operator chose one, the launchers (image,
 * compose stack, npm start) passing the same start flags, and a node that knows both flags (V8 only prints
 * "unrecognized flag" for a flag set from inside, so a Node release dropping one would otherwise go unnoticed). Its effect on memory is measured by
 * `BENCH_ONLY=memory npm run bench`, never asserted (docs/performance.md).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { HEAP_GROWING_PERCENT, heapGrowingFlag, NODE_FLAGS } from '../../src/heap.js';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

describe('heapGrowingFlag', () => {
  it('sets the broker growth unless node was started with its own', () => {
    expect(heapGrowingFlag([])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapGrowingFlag(['--max-semi-space-size=8', '--enable-source-maps'])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapGrowingFlag(['--heap-growing-percent=0'])).toBeUndefined();
    expect(heapGrowingFlag(['--heap_growing_percent=50'])).toBeUndefined();
    expect(heapGrowingFlag(['--heap-growing-percent'])).toBeUndefined();
    expect(heapGrowingFlag(['--heap-growing-percentage=5'])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });
});

describe('the launchers start node with NODE_FLAGS', () => {
  it('the Dockerfile ENTRYPOINT', () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'));
    expect(entrypoint).not.toBeNull();
    const argv = JSON.parse(entrypoint![1]!) as string[];
    expect(argv).toEqual(['node', ...NODE_FLAGS, '/opt/identity-broker/dist/main.js']);
  });

  it("the compose stack's broker", () => {
    const entrypoint = /^ {2}entrypoint: (\[.*\])$/m.exec(read('docker-compose.yml'));
    expect(entrypoint).not.toBeNull();
    expect(JSON.parse(entrypoint![1]!)).toEqual(['node', ...NODE_FLAGS, '/etc/identity-broker/compose-broker.mjs']);
  });

  it('scripts/start.sh (npm start)', () => {
    expect(read('scripts/start.sh')).toMatch(new RegExp(`^exec node ${NODE_FLAGS.join(' ')} dist/main\\.js `, 'm'));
  });
});

it('this node accepts the start flags and the growth flag without a complaint', () => {
  const run = spawnSync(process.execPath, [...NODE_FLAGS, '-e', `require('node:v8').setFlagsFromString(${JSON.stringify(heapGrowingFlag([]))})`], { encoding: 'utf8' });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
});
