/**
 * What `/` answers when no demo is mounted in front of the broker: a 404 that says what this service is and
 * where its documentation is (a page for browsers, TIB's JSON envelope for anything else).
 */
import type { Request, Response } from 'express';
import { sendError } from './envelope.js';

const DOCS = 'https://github.com/TykTechnologies/tyk-identity-broker';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Identity broker</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .2em}</style>
</head>
<body>
<h1>Identity broker</h1>
<p>This service signs users in to Tyk through their identity provider. There is nothing to see at this address:
logins start at <code>/auth/{profile ID}/{provider}</code>, as configured by your administrator.</p>
<p>Operators: see the README that ships with the broker (quick start, configuration reference) and the
<a href="${DOCS}">Tyk Identity Broker documentation</a>, whose configuration this broker accepts.</p>
</body>
</html>
`;

const HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'Cache-Control': 'no-cache',
};

export function rootPage(req: Request, res: Response): void {
  if (req.accepts(['json', 'html']) === 'html') {
    res.set(HEADERS).status(404).type('text/html; charset=utf-8').send(PAGE);
    return;
  }
  sendError(res, 404, 'Not found: logins start at /auth/{profile}/{provider}');
}
