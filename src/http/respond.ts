/** Turning outcomes into responses: one place for redirects, pages and TIB's error envelope. */
import type { Request, Response } from 'express';
import type { ActionResult } from '../actions/action.js';
import type { Logger } from '../log.js';
import type { LoginFailure } from '../providers/provider.js';
import { sendError } from './envelope.js';
import { FAILURE_PAGE_HEADERS, renderFailurePage } from './failure-page.js';

/** Every login response is personal and one-shot: never cached (TIB's 301s were cacheable). */
function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

/** A bare 302: res.redirect() would negotiate and render a body no browser shows (and cost more than the rest). */
export function sendRedirect(res: Response, url: string): void {
  noStore(res);
  res.location(url).status(302).end();
}

export function sendPage(res: Response, status: number, html: string, headers: Record<string, string> = {}): void {
  noStore(res);
  res.set(headers);
  res.status(status).type('text/html; charset=utf-8').send(html);
}

/** A browser navigating (it prefers HTML to JSON); API clients, curl and fetch() (Accept: star/star) are not. */
export function wantsPage(req: Request): boolean {
  return req.accepts(['json', 'html']) === 'html';
}

/**
 * A login error before or after the provider: TIB's envelope for API clients, the same message as a page
 * titled with the profile's Name (else its ID) for a browser, which must never be left on raw JSON.
 */
export function sendLoginError(req: Request, res: Response, status: number, message: string, title: string): void {
  if (!wantsPage(req)) return sendError(res, status, message);
  sendPage(res, status, renderFailurePage({ title, status, message }), FAILURE_PAGE_HEADERS);
}

export interface FailureContext {
  profileId: string;
  /** The profile's Name: the failure page's title (its ID when empty). */
  profileName?: string;
  failureRedirect: string;
  log: Logger;
}

/** Ends a failed login: logged once here, then FailureRedirect, the provider's page, a page, or TIB's envelope. */
export function sendFailure(req: Request, res: Response, failure: LoginFailure, ctx: FailureContext): void {
  ctx.log.warn('login failed', {
    profile: ctx.profileId,
    path: req.baseUrl + req.path,
    status: failure.status,
    reason: failure.reason,
    ...(failure.target && { target: failure.target }),
    ...(failure.hint && { hint: failure.hint }),
  });
  if (ctx.failureRedirect) return sendRedirect(res, ctx.failureRedirect);
  noStore(res);
  if (failure.html !== undefined) return sendPage(res, failure.status, failure.html, failure.headers);
  sendLoginError(req, res, failure.status, failure.message, ctx.profileName || ctx.profileId);
}

export function sendActionResult(
  req: Request,
  res: Response,
  result: ActionResult,
  ctx: FailureContext,
): void {
  switch (result.kind) {
    case 'redirect':
      return sendRedirect(res, result.url);
    case 'json':
      noStore(res);
      res.status(result.status).json(result.body);
      return;
    case 'text':
      noStore(res);
      res.status(result.status).type('text/plain; charset=utf-8').send(result.body);
      return;
    case 'failure':
      return sendFailure(req, res, result.failure, ctx);
  }
}
