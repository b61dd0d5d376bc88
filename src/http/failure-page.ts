/**
 * The page a browser gets when a login ends in a failure and the profile has no FailureRedirect: titled with
 * the profile's Name, in the style of the built-in login page, with TIB's short message and what the person
 * can do. Never the reason (that is for the log). Plain HTML, no script, nothing loaded.
 */
import { escapeHtml } from '../html.js';

/** No framing, nothing loaded, as the login page. */
export const FAILURE_PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
};

export interface FailurePageOptions {
  /** The profile's Name (or its ID when it has none). */
  title: string;
  status: number;
  /** The client-facing message (TIB's text, e.g. "Login failed"); never the log's reason. */
  message: string;
}

/** What the person can do about it: wait for a server-side fault, or start again otherwise. */
function advice(status: number): string {
  if (status === 404) return 'This sign-in link is not configured. Check the address, or ask your administrator.';
  if (status >= 500) return 'Sign-in is unavailable right now. Please try again later; if it keeps failing, tell your administrator.';
  return 'Please go back and sign in again.';
}

export function renderFailurePage(o: FailurePageOptions): string {
  const title = escapeHtml(o.title);
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  <style>
    body { font-family: system-ui, sans-serif; margin: 0; display: flex; min-height: 100vh; align-items: center; justify-content: center; background: #f4f5f7; color: #1d1f24; }
    main { background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); width: min(22rem, 90vw); box-sizing: border-box; overflow-wrap: anywhere; }
    h1 { font-size: 1.3rem; margin: 0 0 1.2rem; }
    .alert { background: #fdecea; color: #8a1c12; border: 1px solid #e0a39c; padding: .6rem; border-radius: 4px; }
  </style>
</head>
<body>
  <main>
    <h1>${title}</h1>
    <p class="alert" role="alert">${escapeHtml(o.message)}</p>
    <p>${escapeHtml(advice(o.status))}</p>
  </main>
</body>
</html>
`;
}
