/**
 * The demo's pages in one small style: HTML escaping, a page frame, and the security headers every demo page
 * carries (a CSP that allows only the page's own inline style, by hash).
 */
import { createHash } from 'node:crypto';
import type { Response } from 'express';

const CSS = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1d2330; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; }
.standin { background: #fff6d8; border: 1px solid #e8c95c; border-radius: 6px; padding: .6rem .9rem; }
.card { border: 1px solid #cfd6e4; border-radius: 8px; padding: .2rem 1rem 1rem; margin: 1rem 0; }
.ok { color: #17692f; } .bad { color: #a3202b; }
table { border-collapse: collapse; margin: .5rem 0; display: block; max-width: 100%; overflow-x: auto; } th, td { border: 1px solid #cfd6e4; padding: .3rem .6rem; text-align: left; vertical-align: top; }
code { background: #eef1f6; padding: 0 .25rem; border-radius: 3px; overflow-wrap: break-word; }
.url span { white-space: nowrap; }
.button, button { display: inline-block; background: #2653c9; color: #fff; border: 0; border-radius: 6px; padding: .5rem 1rem; font: inherit; text-decoration: none; cursor: pointer; }
ol li, ul li { margin: .2rem 0; }
label { white-space: nowrap; margin-right: .4rem; }
`;
const STYLE_HASH = createHash('sha256').update(CSS).digest('base64');

/** Text for HTML content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>${body}</body></html>`;
}

/**
 * Send a demo page. `formAction`: where its forms may post; a form whose answer redirects to another origin
 * (the OP's sign-in, which ends at the broker) must leave it open, as browsers apply it to redirects too.
 */
export function sendPage(res: Response, status: number, html: string, opts: { formAction?: string } = {}): void {
  const csp = [`default-src 'none'`, `style-src 'sha256-${STYLE_HASH}'`, `base-uri 'none'`, `frame-ancestors 'none'`];
  if (opts.formAction !== undefined) csp.push(`form-action ${opts.formAction}`);
  res.set({
    'Content-Security-Policy': csp.join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  res.status(status).type('html').send(html);
}
