/**
 * The built-in login page for password profiles: plain, accessible HTML with no script and no external
 * assets, posting back to the URL it was served from (so it also works mounted under a prefix). TIB and the
 * Tyk portal ship none.
 */
import { escapeHtml } from '../html.js';

/**
 * Sent with the page and with the page shown again after a failure: no framing, nothing loaded. No
 * form-action: browsers apply it to every redirect after the post, and a login redirects to ReturnURL or
 * FailureRedirect on another origin, so 'self' would block every successful sign-in.
 */
export const LOGIN_PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
};

export interface LoginPageOptions {
  /** Heading, e.g. the profile's Name. */
  title: string;
  /** Where the form posts: the page's own path (no query string). */
  action: string;
  message?: string;
  username?: string;
}

export function renderLoginPage(o: LoginPageOptions): string {
  const title = escapeHtml(o.title);
  const alert = o.message ? `\n    <p class="alert" role="alert" id="login-error">${escapeHtml(o.message)}</p>` : '';
  const described = o.message ? ' aria-describedby="login-error"' : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in - ${title}</title>
  <style>
    body { font-family: system-ui, sans-serif; margin: 0; display: flex; min-height: 100vh; align-items: center; justify-content: center; background: #f4f5f7; color: #1d1f24; }
    main { box-sizing: border-box; background: #fff; padding: clamp(1rem, 6vw, 2rem); border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); width: min(22rem, 100vw - 1rem); }
    /* A profile Name or a message may hold a long unbroken word: wrap it rather than widen a phone's page. */
    h1, .alert { overflow-wrap: anywhere; }
    h1 { font-size: 1.3rem; margin: 0 0 1.2rem; }
    label { display: block; font-weight: 600; margin: .8rem 0 .3rem; }
    input { width: 100%; box-sizing: border-box; padding: .55rem; font-size: 1rem; border: 1px solid #8a8f98; border-radius: 4px; }
    input:focus, button:focus { outline: 3px solid #2f6fde; outline-offset: 1px; }
    button { margin-top: 1.2rem; width: 100%; padding: .6rem; font-size: 1rem; font-weight: 600; color: #fff; background: #2f5fb8; border: 0; border-radius: 4px; cursor: pointer; }
    .alert { background: #fdecea; color: #8a1c12; border: 1px solid #e0a39c; padding: .6rem; border-radius: 4px; }
  </style>
</head>
<body>
  <main>
    <h1>${title}</h1>${alert}
    <form method="post" action="${escapeHtml(o.action)}">
      <label for="username">Username</label>
      <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${escapeHtml(o.username ?? '')}"${described}>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required${described}>
      <button type="submit">Sign in</button>
    </form>
  </main>
</body>
</html>
`;
}
