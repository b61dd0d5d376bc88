/**
 * The console's log lines, written in batches off the event loop, all reach stdout even when the process
 * exits at once (the built CLI's logger, in a process of its own). That a line below the level is never
 * built is checked in test/unit/log.test.ts.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from '@jest/globals';

it('every line logged just before process.exit() reaches stdout, in order', () => {
  const log = pathToFileURL(path.resolve('dist/log.js')).href;
  const script = `import(${JSON.stringify(log)}).then((m) => {
    const l = m.getLogger('SINK');
    for (let i = 0; i < 500; i++) l.info('line ' + i);
    process.exit(0);
  });`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, TYK_LOGLEVEL: 'info' } });
  const lines = out.split('\n').filter((l) => l.includes('SINK: line'));
  expect(lines).toHaveLength(500);
  expect(lines.map((l) => Number(/line (\d+)$/.exec(l)?.[1]))).toEqual(Array.from({ length: 500 }, (_, i) => i));
});
