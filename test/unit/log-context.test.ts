/**
 * Log timestamps and the request context (issue 18, point 6): text and JSON lines carry an ISO 8601 timestamp
 * with the year, milliseconds and the zone; lines written while a request is served carry its request ID and,
 * once known, its client address, across awaits, without the logger being handed the request.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { configureLogging, currentRequestContext, getLogger, runWithRequestContext } from '../../src/log.js';
import { captureLogs } from '../support/logs.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

afterEach(() => configureLogging({ level: 'info', format: 'text' }));

function capture(format: 'text' | 'json', write: () => unknown): Promise<string[]> {
  configureLogging({ level: 'info', format });
  const c = captureLogs();
  return Promise.resolve(write()).then(
    () => {
      c.stop();
      return c.lines;
    },
    (err: unknown) => {
      c.stop();
      throw err;
    },
  );
}

describe('log timestamps', () => {
  it('text lines start with an ISO 8601 timestamp: year, milliseconds, zone', async () => {
    const before = Date.now();
    const [line] = await capture('text', () => getLogger('TEST').info('hello'));
    const stamp = String(line).split(' ')[0] as string;
    expect(stamp).toMatch(ISO);
    expect(Date.parse(stamp)).toBeGreaterThanOrEqual(before - 1);
    expect(line).toContain('[INFO] TEST: hello');
  });

  it('JSON lines have the same timestamp field', async () => {
    const [line] = await capture('json', () => getLogger('TEST').info('hello'));
    expect(String((JSON.parse(String(line)) as { timestamp: unknown }).timestamp)).toMatch(ISO);
  });
});

describe('request context', () => {
  it('puts the request ID and client on every line of the request, after awaits too, and on no other line', async () => {
    const lines = await capture('text', async () => {
      const log = getLogger('AUTH');
      await runWithRequestContext({ request_id: 'req-1' }, async () => {
        log.info('before the client is known');
        await new Promise((r) => setTimeout(r, 5));
        const ctx = currentRequestContext();
        if (ctx) ctx.client = '192.0.2.7';
        await Promise.resolve();
        log.warn('login failed', { profile: 'p1' });
      });
      log.info('outside any request');
    });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/before the client is known request_id="req-1"$/);
    expect(lines[1]).toMatch(/login failed profile="p1" request_id="req-1" client="192\.0\.2\.7"$/);
    expect(lines[2]).not.toContain('request_id');
  });

  it('never replaces what a line names itself, and goes into JSON lines as fields', async () => {
    const [line] = await capture('json', () =>
      runWithRequestContext({ request_id: 'req-2', client: '192.0.2.8' }, () => getLogger('AUTH').warn('refused', { client: '198.51.100.1' })),
    );
    expect(JSON.parse(String(line))).toMatchObject({ message: 'refused', client: '198.51.100.1', request_id: 'req-2' });
  });
});
