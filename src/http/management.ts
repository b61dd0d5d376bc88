/**
 * The management listener's app (tib.conf `Management`): `/metrics`, `/health`, `/ready` and `/version`
 * without authentication, nothing else. Keep it off public networks; it binds to 127.0.0.1 by default.
 */
import express from 'express';
import { baseHeaders, probeRoutes, versionRoute, type Readiness } from './app.js';
import { metricsRoute } from './metrics-route.js';

export function managementApp(ready?: () => Promise<Readiness>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const router = express.Router();
  router.use(baseHeaders);
  probeRoutes(router, ready);
  versionRoute(router);
  router.all('/metrics', metricsRoute('open'));
  app.use(router);
  app.use((_req, res) => {
    res.status(404).type('text/plain; charset=utf-8').send('404 page not found\n');
  });
  return app;
}
