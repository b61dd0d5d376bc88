/**
 * `/auth/{id}/{provider}` and `/auth/{id}/{provider}/callback`: find the compiled profile, run its
 * provider, and run the identity it yields through the login pipeline. Any error ends in the profile's
 * failure response; nothing here can crash the process or leave a request hanging.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { noAudit, type AuditLog } from '../audit.js';
import { completeLogin } from '../login/complete.js';
import { failureReason, type FailureStage } from '../login/failure-reason.js';
import { observeProviderStep, recordLogin, secondsSince } from '../metrics.js';
import { currentRequestContext, type Logger } from '../log.js';
import type { LoginFailure, LoginRequest, ProviderOutcome } from '../providers/provider.js';
import type { ProfileRuntime } from '../runtime.js';
import { clientIp, TrustedProxies, untrustedForwardedClient } from '../client-ip.js';
import { sendError } from './envelope.js';
import type { LoginStartLimit } from './login-start-limit.js';
import { keepLoginSession, logoutRouter } from './logout-routes.js';
import { sendActionResult, sendFailure, sendLoginError, sendPage, sendRedirect } from './respond.js';

const FORM_LIMIT = '64kb';
/**
 * The callback takes a SAML Response by HTTP-POST: signed, maybe encrypted, with many group values
 * (Entra ID sends up to 150) it passes 64 KB once base64- and form-encoded.
 */
const CALLBACK_FORM_LIMIT = '256kb';
/** Built once: a regex literal in the parser would be a new RegExp object on every request. */
const URLENCODED = /^application\/x-www-form-urlencoded/i;
const MULTIPART = /^multipart\//i;

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

/**
 * urlencoded and multipart form fields (no files), size-limited; a bad body is a 400, not a crash. One parser
 * per request, chosen by Content-Type (each would skip any other type anyway): a GET or another type costs
 * neither, and a form is not also run past multer.
 */
function formParsers(limit = FORM_LIMIT): express.RequestHandler {
  const urlencoded = express.urlencoded({ extended: false, limit });
  // multer, imported by the first multipart body: most brokers never see one (docs/performance.md "Idle memory").
  let multipart: Promise<{ parse: express.RequestHandler; tooLarge: (err: unknown) => boolean }> | undefined;
  const loadMultipart = () =>
    (multipart ??= import('multer').then(({ default: multer }) => ({
      parse: multer({ limits: { fields: 50, fieldSize: 16 * 1024, files: 0, parts: 50 } }).none(),
      tooLarge: (err: unknown) => err instanceof multer.MulterError && (err.code === 'LIMIT_FIELD_VALUE' || err.code === 'LIMIT_FILE_SIZE'),
    })));
  return (req, res, next) => {
    const type = req.headers['content-type'] ?? '';
    if (URLENCODED.test(type)) return urlencoded(req, res, next);
    if (!MULTIPART.test(type)) return next();
    // Everything multer reports is about the body (its limits, or busboy's malformed-multipart errors).
    loadMultipart().then(
      ({ parse, tooLarge }) =>
        parse(req, res, (err?: unknown) => {
          if (err === undefined || err === null) return next();
          next(new BodyError(tooLarge(err) ? 413 : 400, err));
        }),
      next,
    );
  };
}

/** Where ended logins are reported besides the log: the audit log, and whom to believe for the client address. */
export interface LoginRecording {
  audit?: AuditLog;
  trustedProxies?: TrustedProxies;
  /** tib.conf LoginStartsPerMinute, counted for the starts of these providers (the registry's cookieProviders). */
  loginStarts?: { limit: LoginStartLimit; providers: readonly string[] };
}

/** The request as a provider sees it: no Express (src/providers/provider.ts). */
function loginRequest(req: Request, res: Response, client: string, trusted: TrustedProxies): LoginRequest {
  return {
    method: req.method,
    url: req.originalUrl,
    path: req.baseUrl + req.path,
    query: req.query,
    body: req.body as unknown,
    header: (name) => req.get(name),
    is: (type) => Boolean(req.is(type)),
    // Asked only when a provider answers with a page (a failed password login): not on every request.
    get wantsHtml() {
      return req.accepts(['json', 'html']) === 'html';
    },
    clientIp: client,
    forwardedClient: untrustedForwardedClient(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted),
    ownOrigin: `${req.protocol}://${req.get('host') ?? ''}`,
    setCookie: (name, value, o) => {
      res.cookie(name, value, { httpOnly: o.httpOnly, sameSite: o.sameSite, secure: o.secure, path: o.path, maxAge: o.maxAgeSeconds * 1000, encode: (v) => v });
    },
    raw: { req, res },
  };
}

export function authRouter(runtime: ProfileRuntime, log: Logger, recording: LoginRecording = {}): Router {
  const router = express.Router();
  const audit = recording.audit ?? noAudit;
  const trusted = recording.trustedProxies ?? new TrustedProxies([]);
  const startLimited = new Set(recording.loginStarts?.providers ?? []);
  // Behind a balancer that TrustedProxies does not name, every client arrives from the balancer's address: the
  // per-IP lockout counter is then everyone's. The header is ignored (anybody can send it); say so, once.
  let warnedForwarded = false;
  const noteForwarded = (req: Request) => {
    if (warnedForwarded || req.headers['x-forwarded-for'] === undefined) return;
    const peer = req.socket.remoteAddress ?? '';
    if (trusted.has(peer)) return;
    warnedForwarded = true;
    log.warn(
      'X-Forwarded-For ignored: the request came from a peer that is not in TrustedProxies, so the client address (per-IP lockout, audit) is the peer\'s (past IPLimit its lockout counts each forwarded client apart, so one guesser cannot lock everyone out); if the broker is behind a load balancer or proxy, list its address in TrustedProxies',
      { peer },
    );
  };
  const run = (step: 'start' | 'callback') => async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const segment = String(req.params.provider);
    const compiled = runtime.get(id);
    if (!compiled) return sendLoginError(req, res, 404, `Profile ${id} not found`, 'Sign-in');
    const { profile, provider, action, failureRedirect } = compiled;
    const ctx = { profileId: id, profileName: profile.Name, failureRedirect, log };
    if (compiled.setupError || !action || !provider) {
      log.error('profile cannot be used', { profile: id, reason: compiled.setupError });
      return sendLoginError(req, res, 500, 'Could not initialise provider', profile.Name || id);
    }

    // Metrics and the audit log see every login that ends here, once, with a bounded reason.
    noteForwarded(req);
    const client = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted);
    // Every line logged from here on ("login failed", "login succeeded", the provider's) names the client.
    const logContext = currentRequestContext();
    if (logContext) logContext.client = client;
    const failed = (stage: FailureStage, failure: LoginFailure, userId?: string) => {
      const reason = failureReason(stage, failure, compiled.failureClasses);
      recordLogin(id, profile.ProviderName, 'failure', reason);
      audit.login({ profile: id, provider: profile.ProviderName, outcome: 'failure', reason, userId, client });
    };

    // A redirect login's start, any method (the providers start a flow for any): past the client's rate, 429
    // and nothing else; the provider is not called. Logged and audited once per client and minute (anyone can
    // send these), counted in metrics every time.
    const refused = step === 'start' && startLimited.has(profile.ProviderName) ? recording.loginStarts?.limit.take(client) : undefined;
    if (refused) {
      recordLogin(id, profile.ProviderName, 'failure', 'rate_limited');
      if (refused.first) {
        audit.login({ profile: id, provider: profile.ProviderName, outcome: 'failure', reason: 'rate_limited', client });
        // As noteForwarded says: behind a balancer not in TrustedProxies, this address is everyone's.
        const shared =
          req.headers['x-forwarded-for'] !== undefined && !trusted.has(req.socket.remoteAddress ?? '')
            ? '; X-Forwarded-For was ignored (the peer is not in TrustedProxies), so every client behind that peer shares this address and its limit: if the broker is behind a load balancer or proxy, list its address in TrustedProxies'
            : '';
        log.warn(`login starts from this client refused (429) until its minute ends: over LoginStartsPerMinute (raise it in tib.conf or TYK_IB_LOGINSTARTSPERMINUTE, 0 turns it off)${shared}`, { client, profile: id, retryAfterSeconds: refused.retryAfterSeconds });
      }
      res.set('Retry-After', String(refused.retryAfterSeconds));
      return sendLoginError(req, res, 429, 'Too many login attempts from this address; retry later', profile.Name || id);
    }

    let outcome: ProviderOutcome;
    const started = process.hrtime.bigint();
    let threw = false;
    try {
      const login = loginRequest(req, res, client, trusted);
      outcome = step === 'start' ? await provider.start(login, segment) : await provider.callback(login, segment);
    } catch (err) {
      threw = true;
      outcome = { kind: 'failure', failure: unexpected(err) };
    }
    observeProviderStep(id, profile.ProviderName, secondsSince(started), outcome.kind !== 'failure');
    if (outcome.kind === 'failure') failed(threw ? 'unexpected' : 'provider', outcome.failure);
    if (res.headersSent) return;
    switch (outcome.kind) {
      case 'redirect':
        return sendRedirect(res, outcome.url);
      case 'page':
        return sendPage(res, outcome.status, outcome.html, outcome.headers);
      case 'failure':
        return sendFailure(req, res, outcome.failure, ctx);
      case 'identity': {
        const { userId } = outcome.identity;
        try {
          const { result, explanation } = await completeLogin(profile, outcome.identity, action, log);
          if (result.kind === 'failure') failed('pipeline', result.failure, userId);
          else {
            // Only for a profile with logout on (http/logout-routes.ts): the session cookie goes with the answer.
            await keepLoginSession(runtime, compiled, outcome.identity, req, res, log);
            recordLogin(id, profile.ProviderName, 'success');
            const teams = explanation.outcome === 'allowed' ? explanation.teams.map((t) => t.team) : [];
            const org = explanation.outcome === 'allowed' && profile.CustomUserOrgField ? explanation.org?.value : undefined;
            audit.login({ profile: id, provider: profile.ProviderName, outcome: 'success', teams, userId, client, ...(org !== undefined && { org }) });
          }
          if (!res.headersSent) sendActionResult(req, res, result, ctx);
        } catch (err) {
          failed('unexpected', unexpected(err), userId);
          if (!res.headersSent) sendFailure(req, res, unexpected(err), ctx);
        }
      }
    }
  };

  // A provider's published document (SAML's SP metadata); 404 when it has none.
  router.get('/auth/:id/:provider/metadata', (req: Request, res: Response) => {
    const compiled = runtime.get(String(req.params.id));
    const doc = compiled?.provider?.metadata?.(String(req.params.provider));
    if (!doc) return sendError(res, 404, 'Not found');
    res.set('Cache-Control', 'no-cache');
    res.status(200).type(doc.contentType).send(doc.body);
  });
  const parsers = formParsers();
  // Before `/auth/:id/:provider`: `logout` is never a provider segment (docs/logout.md).
  logoutRouter(runtime, { log, audit, trusted, loginRequest: (req, res, client) => loginRequest(req, res, client, trusted), forms: formParsers(CALLBACK_FORM_LIMIT) }, router);
  router.all('/auth/:id/:provider/callback', formParsers(CALLBACK_FORM_LIMIT), run('callback'));
  router.all('/auth/:id/:provider', parsers, run('start'));
  // A malformed or oversized form is the client's error; answer with TIB's envelope. Anything else is
  // ours: on to the logged 500 handler, never a silent 400.
  router.use('/auth', (err: unknown, req: Request, res: Response, next: NextFunction) => {
    const status = clientErrorStatus(err);
    if (res.headersSent || status === undefined) return next(err);
    const message = status === 413 ? 'Request body too large' : 'Invalid request data';
    // A profile's FailureRedirect ends every failed login, one refused for its body too.
    const compiled = runtime.get(profileIdOf(req.path));
    if (compiled?.failureRedirect) {
      return sendFailure(req, res, { reason: `request body refused: ${message}`, status, message }, { profileId: compiled.profile.ID, failureRedirect: compiled.failureRedirect, log });
    }
    // A browser gets the page, an API client TIB's envelope.
    sendLoginError(req, res, status, message, compiled ? compiled.profile.Name || compiled.profile.ID : 'Sign-in');
  });
  return router;
}

/** The profile id of a path below /auth (`/{id}/{provider}...`), or "" when it has none. */
function profileIdOf(pathBelowAuth: string): string {
  try {
    return decodeURIComponent(pathBelowAuth.split('/')[1] ?? '');
  } catch {
    return '';
  }
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
