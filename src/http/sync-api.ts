/**
 * The directory sync admin API (issue 20, item 3; src/sync/runner.ts), in TIB's envelopes (src/http/envelope.ts):
 * - `POST /api/sync/{profile}` (`?dryRun=true`, `?force=true`): runs now; 200 with the SyncReport as Data, 404 for
 *   an unknown profile or one without Sync, 409 while another runner (this or another replica) holds the lock,
 *   502 when the directory or the portal failed (the reason, secrets masked).
 * - `GET /api/sync/{profile}`: `{ last, next }`: the last run of any replica (when, counts, errors, brake; null
 *   when none is known) and this replica's next planned run (null: on demand only); 404 as above.
 * Mounted behind the admin API's router (src/http/app.ts), whose middleware has already checked the
 * Authorization header against the Secret, throttled failures and set Cache-Control: no-store.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from '../log.js';
import type { SyncRunner } from '../sync/runner.js';
import { SyncRunError } from '../sync/runner.js';
import { sendError, sendOk } from './envelope.js';

export type SyncApi = Pick<SyncRunner, 'runNow' | 'lastRun' | 'nextRun'>;

const STATUS = { 'not-found': 404, busy: 409, failed: 502 } as const;

export function syncApiRouter(sync: SyncApi, log: Logger): Router {
  const router = express.Router({ strict: true, caseSensitive: true });
  const fail = (res: Response, err: unknown) => {
    if (err instanceof SyncRunError) return sendError(res, STATUS[err.kind], err.message);
    log.error('directory sync API failed', { reason: err instanceof Error ? err.message : String(err) });
    sendError(res, 500, 'Internal error');
  };
  const flag = (req: Request, name: string) => req.query[name] === 'true';

  router.post('/sync/:profile', async (req, res) => {
    const id = req.params.profile as string;
    try {
      const report = await sync.runNow(id, { dryRun: flag(req, 'dryRun'), force: flag(req, 'force') });
      sendOk(res, 200, id, report);
    } catch (err) {
      fail(res, err);
    }
  });
  router.get('/sync/:profile', async (req, res) => {
    const id = req.params.profile as string;
    try {
      const last = await sync.lastRun(id);
      sendOk(res, 200, id, { last: last ?? null, next: sync.nextRun(id)?.toISOString() ?? null });
    } catch (err) {
      fail(res, err);
    }
  });
  router.all('/sync/:profile', (_req, res) => {
    res.status(405).end();
  });
  return router;
}
