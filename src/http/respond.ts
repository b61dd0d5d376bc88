/** Turning outcomes into responses: one place for redirects, pages and TIB's error envelope. */
import type { Request, Response } from 'express';
import type { ActionResult } from '../actions/action.js';
import type { Logger } from '../log.js';
import type { LoginFailure } from '../providers/provider.js';
import { sendError } from './envelope.js';

/** Every login response is personal and one-shot: never cached (TIB's 301s were cacheable). */
function noStore(res: Response): void {
  res.set('Cache-Control', 'no-store');
  res.set('Pragma', 'no-cache');
}

export function sendRedirect(res: Response, url: string): void {
  noStore(res);
  res.redirect(302, url);
}

export function sendPage(res: Response, status: number, html: string, headers: Record<string, string> = {}): void {
  noStore(res);
  res.set(headers);
  res.status(status).type('text/html; charset=utf-8').send(html);
}

/** Ends a failed login: logged once here, then FailureRedirect, the provider's page, or TIB's envelope. */
export function sendFailure(
  req: Request,
  res: Response,
  failure: LoginFailure,
  ctx: { profileId: string; failureRedirect: string; log: Logger },
): void {
  ctx.log.warn('login failed', {
    profile: ctx.profileId,
    path: req.baseUrl + req.path,
    status: failure.status,
    reason: failure.reason,
  });
  if (ctx.failureRedirect) return sendRedirect(res, ctx.failureRedirect);
  noStore(res);
  if (failure.html !== undefined) return sendPage(res, failure.status, failure.html, failure.headers);
  sendError(res, failure.status, failure.message);
}

export function sendActionResult(
  req: Request,
  res: Response,
  result: ActionResult,
  ctx: { profileId: string; failureRedirect: string; log: Logger },
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
