/**
 * `/health` and `/ready` answered in the node:http request listener, before Express: load balancers and
 * orchestrators call them every few seconds, and Express's per-request setup costs ten times the answer
 * (issue 12). Only the exact paths with GET or HEAD are taken here; anything else (a query string, a trailing
 * slash, another method) goes on to Express, whose probe routes give the same answers and the 405s. Embedded
 * use (the router mounted in a host app) keeps the Express routes in app.ts.
 */
import type http from 'node:http';
import { goJson } from './envelope.js';
import { BASE_HEADERS, type Readiness } from './app.js';

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Wrap `next` (the Express app) so that the probes are answered without it. */
export function withProbes(next: Listener, ready?: () => Promise<Readiness>): Listener {
  return (req, res) => {
    const url = req.url;
    if ((url === '/health' || url === '/ready') && (req.method === 'GET' || req.method === 'HEAD')) {
      if (url === '/health') {
        // Headers set, not written: end() then frames the empty body as Express's answer does (Content-Length 0).
        for (const [name, value] of Object.entries(BASE_HEADERS)) res.setHeader(name, value);
        res.end();
      } else {
        void answerReady(res, ready);
      }
      return;
    }
    next(req, res);
  };
}

async function answerReady(res: http.ServerResponse, ready?: () => Promise<Readiness>): Promise<void> {
  let r: Readiness;
  try {
    r = ready ? await ready() : { ok: true };
  } catch (err) {
    r = { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  // The client may have gone while Redis was asked.
  if (res.destroyed) return;
  const body = r.ok ? '{"Status":"ok"}' : goJson({ Status: 'error', Error: r.reason });
  res.writeHead(r.ok ? 200 : 503, {
    ...BASE_HEADERS,
    'Cache-Control': 'no-store',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  // For HEAD, node:http sends the headers and drops the body.
  res.end(body);
}
