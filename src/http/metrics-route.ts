/**
 * `GET /metrics` in Prometheus's text format. On the main port it answers only to the admin Secret (login
 * counts per profile and failure reasons are an operator's business, not the internet's); on the management
 * listener, which binds to loopback by default, it is open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { metricsText } from '../metrics.js';
import { sendError } from './envelope.js';

/** 'open': anyone who reaches the listener; 'secret': the admin Secret; 'off': not served here (404). */
export type MetricsAccess = 'open' | 'secret' | 'off';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * The admin API's raw `Authorization: <Secret>` (TIB's form), or `Bearer <Secret>` (what Prometheus's
 * `authorization` scrape setting sends). An empty Secret matches nothing.
 */
export function metricsSecretMatcher(secret: string): (header: string | undefined) => boolean {
  const expected = digest(secret);
  return (header) => {
    if (secret === '' || header === undefined) return false;
    const given = /^Bearer /i.test(header) ? header.slice(7) : header;
    // Both checks always run: which form matched must not show in the timing.
    const raw = timingSafeEqual(digest(header), expected);
    const bearer = timingSafeEqual(digest(given), expected);
    return raw || bearer;
  };
}

export function metricsRoute(access: MetricsAccess, secret = '') {
  const allowed = metricsSecretMatcher(secret);
  return async (req: Request, res: Response, next: NextFunction) => {
    if (access === 'off') return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.status(405).end();
    res.set('Cache-Control', 'no-store');
    if (access === 'secret' && !allowed(req.get('Authorization'))) return sendError(res, 401, 'Authorization failed');
    try {
      const { contentType, body } = await metricsText();
      res.status(200).type(contentType).send(body);
    } catch (err) {
      next(err);
    }
  };
}
