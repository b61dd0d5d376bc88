/**
 * `/auth/{id}/{provider}` and `/auth/{id}/{provider}/callback`: find the compiled profile, run its
 * provider, and run the identity it yields through the login pipeline. Any error ends in the profile's
 * failure response; nothing here can crash the process or leave a request hanging.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import multer from 'multer';
import { completeLogin } from '../login/complete.js';
import type { Logger } from '../log.js';
import type { ProviderOutcome } from '../providers/provider.js';
import type { ProfileRuntime } from '../runtime.js';
import { sendError } from './envelope.js';
import { sendActionResult, sendFailure, sendPage, sendRedirect } from './respond.js';

const FORM_LIMIT = '64kb';

/** A request body the client got wrong, in body-parser's shape (an exposed 4xx), so one check finds both. */
class BodyError extends Error {
  readonly expose = true;
  constructor(
    readonly status: number,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** urlencoded and multipart form fields (no files), size-limited; a bad body is a 400, not a crash. */
function formParsers(): express.RequestHandler[] {
  const multipart = multer({ limits: { fields: 50, fieldSize: 16 * 1024, files: 0, parts: 50 } }).none();
  return [
    express.urlencoded({ extended: false, limit: FORM_LIMIT }),
    // Everything multer reports is about the body (its limits, or busboy's malformed-multipart errors).
    (req, res, next) =>
      multipart(req, res, (err?: unknown) => {
        if (err === undefined || err === null) return next();
        const tooLarge = err instanceof multer.MulterError && (err.code === 'LIMIT_FIELD_VALUE' || err.code === 'LIMIT_FILE_SIZE');
        next(new BodyError(tooLarge ? 413 : 400, err));
      }),
  ];
}

export function authRouter(runtime: ProfileRuntime, log: Logger): Router {
  const router = express.Router();
  const run = (step: 'start' | 'callback') => async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const segment = String(req.params.provider);
    const compiled = runtime.get(id);
    if (!compiled) return sendError(res, 404, `Profile ${id} not found`);
    const { profile, provider, action, failureRedirect } = compiled;
    const ctx = { profileId: id, failureRedirect, log };
    if (compiled.setupError || !action) {
      log.error('profile cannot be used', { profile: id, reason: compiled.setupError });
      return sendError(res, 500, 'Could not initialise provider');
    }
    if (!provider) return sendError(res, 501, `${profile.ProviderName} is not supported yet`);

    let outcome: ProviderOutcome;
    try {
      outcome = step === 'start' ? await provider.start(req, res, segment) : await provider.callback(req, res, segment);
    } catch (err) {
      outcome = { kind: 'failure', failure: unexpected(err) };
    }
    if (res.headersSent) return;
    switch (outcome.kind) {
      case 'redirect':
        return sendRedirect(res, outcome.url);
      case 'page':
        return sendPage(res, outcome.status, outcome.html, outcome.headers);
      case 'failure':
        return sendFailure(req, res, outcome.failure, ctx);
      case 'identity': {
        try {
          const result = await completeLogin(profile, outcome.identity, action, log);
          if (!res.headersSent) sendActionResult(req, res, result, ctx);
        } catch (err) {
          if (!res.headersSent) sendFailure(req, res, unexpected(err), ctx);
        }
      }
    }
  };

  const parsers = formParsers();
  router.all('/auth/:id/:provider/callback', ...parsers, run('callback'));
  router.all('/auth/:id/:provider', ...parsers, run('start'));
  // A malformed or oversized form is the client's error; answer with TIB's envelope. Anything else is
  // ours: on to the logged 500 handler, never a silent 400.
  router.use('/auth', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const status = clientErrorStatus(err);
    if (res.headersSent || status === undefined) return next(err);
    sendError(res, status, status === 413 ? 'Request body too large' : 'Invalid request data');
  });
  return router;
}

/** 400 or 413 for a body the client got wrong (body-parser's http-errors, our BodyError), else undefined. */
function clientErrorStatus(err: unknown): number | undefined {
  const e = typeof err === 'object' && err !== null ? (err as { expose?: unknown; status?: unknown }) : {};
  if (e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) return e.status === 413 ? 413 : 400;
  return undefined;
}

function unexpected(err: unknown) {
  return {
    reason: `unexpected error: ${err instanceof Error ? err.message : String(err)}`,
    status: 500,
    message: 'Login failed',
  };
}
