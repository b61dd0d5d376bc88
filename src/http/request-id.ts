/**
 * Request IDs, as Keycloak, Dex and oauth2-proxy give them: a request from one of tib.conf's TrustedProxies
 * keeps the `X-Request-Id` its proxy set (when it is short and plainly spelt), any other gets a random one.
 * The answer carries it back in `X-Request-Id`, and every log line and audit event of the request carries it
 * as `request_id` (src/log.ts runWithRequestContext), so one login can be followed from the proxy's log to ours.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { TrustedProxies } from '../client-ip.js';
import { runWithRequestContext } from '../log.js';

/** What a proxy's ID may look like: UUIDs, hex, base64(url) and the usual `<host>/<n>` forms; nothing a log line could be forged with. */
const VALID_ID = /^[A-Za-z0-9._:+/=-]{1,128}$/;

/** The request's ID: the trusted proxy's, if valid, else a new random UUID. */
export function requestIdOf(req: Request, trusted: TrustedProxies): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && VALID_ID.test(given) && trusted.has(req.socket.remoteAddress ?? '')) return given;
  return randomUUID();
}

/** Express middleware: sets `X-Request-Id` on the answer and runs the rest of the request in its log context. */
export function requestId(trusted: TrustedProxies) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const id = requestIdOf(req, trusted);
    res.setHeader('X-Request-Id', id);
    runWithRequestContext({ request_id: id }, next);
  };
}
