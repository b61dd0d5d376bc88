/**
 * The cheap log path: a line below the level is never built (its fields are not even read), and the
 * console's lines, written in batches off the event loop, all reach stdout even when the process exits at
 * once (the built CLI's logger, in a process of its own).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, expect, it } from '@jest/globals';
import { configureLogging, getLogger, logsAt, rootLogger } from '../../src/log.js';

const level = rootLogger.level;
afterEach(() => {
  rootLogger.level = level;
});

it('a line below the level is not formatted: its fields are never read', () => {
  configureLogging({ level: 'info', format: 'text' });
  let read = 0;
  const fields = {
    get costly() {
      read++;
      return 'value';
    },
  };
  getLogger('TEST').debug('below the level', fields);
  expect(read).toBe(0);
  expect(logsAt('debug')).toBe(false);
  expect(logsAt('info')).toBe(true);
});

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
