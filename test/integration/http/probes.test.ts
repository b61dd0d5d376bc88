/**
 * /health and /ready answered before Express (issue 12): the fast path in src/http/probes.ts answers exactly
 * what the Express probe routes answer (status, body, headers but Express's ETag), never reaches the app for
 * them, and hands everything else (a query string, a trailing slash, another method) to the app.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Readiness } from '../../../src/http/app.js';
import { managementApp } from '../../../src/http/management.js';
import { withProbes } from '../../../src/http/probes.js';

let readiness: Readiness = { ok: true };
const ready = async (): Promise<Readiness> => readiness;

const servers: http.Server[] = [];
let expressOnly: string;
let fast: string;
let reachedApp: string[] = [];

async function listen(server: http.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  expressOnly = await listen(http.createServer(managementApp(ready)));
  const app = managementApp(ready);
  fast = await listen(
    http.createServer(
      withProbes((req, res) => {
        reachedApp.push(`${req.method} ${req.url}`);
        app(req, res);
      }, ready),
    ),
  );
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** What a client sees, minus the headers that differ per answer or per connection. */
async function seen(base: string, path: string, method = 'GET') {
  const res = await fetch(base + path, { method });
  const headers = Object.fromEntries([...res.headers].filter(([k]) => !['date', 'etag', 'connection', 'keep-alive'].includes(k)));
  return { status: res.status, body: await res.text(), headers };
}

describe('probes before Express', () => {
  it.each([
    ['GET /health', '/health', 'GET', true],
    ['HEAD /health', '/health', 'HEAD', true],
    ['GET /ready', '/ready', 'GET', true],
    ['HEAD /ready', '/ready', 'HEAD', true],
    ['POST /health (405 from Express)', '/health', 'POST', false],
    ['GET /health with a query', '/health?x=1', 'GET', false],
    ['GET /ready/ (trailing slash)', '/ready/', 'GET', false],
  ])('%s: the same answer as Express; the app is reached only when not a plain probe', async (_name, path, method, answeredBefore) => {
    reachedApp = [];
    const expected = await seen(expressOnly, path, method);
    const actual = await seen(fast, path, method);
    expect(actual).toEqual(expected);
    expect(reachedApp).toEqual(answeredBefore ? [] : [`${method} ${path}`]);
    expect(actual.headers['x-frame-options']).toBe('DENY');
  });

  it('a replica not ready: 503 with the reason in the envelope, as Express answers it', async () => {
    readiness = { ok: false, reason: 'Redis <not> answering' };
    try {
      reachedApp = [];
      const expected = await seen(expressOnly, '/ready');
      const actual = await seen(fast, '/ready');
      expect(actual).toEqual(expected);
      expect(actual.status).toBe(503);
      expect(actual.body).toBe('{"Status":"error","Error":"Redis \\u003cnot\\u003e answering"}');
      expect(actual.headers['cache-control']).toBe('no-store');
      expect(reachedApp).toEqual([]);
    } finally {
      readiness = { ok: true };
    }
  });

  it('a readiness check that throws: 503 with its message', async () => {
    const throwing = await listen(
      http.createServer(
        withProbes(
          (_req, res) => res.end('app'),
          async () => {
            throw new Error('store closed');
          },
        ),
      ),
    );
    const r = await seen(throwing, '/ready');
    expect(r.status).toBe(503);
    expect(r.body).toBe('{"Status":"error","Error":"store closed"}');
  });
});
