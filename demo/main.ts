/**
 * `npm run demo`: the real broker, embedded as an application embeds it (createBroker, its router mounted in a
 * host Express app), with two stand-ins in the same process: a demo OpenID Provider and a demo portal. It
 * writes a tib.conf and profiles.json for this run into a private temp folder (secrets made at start, never
 * printed) and removes them on Ctrl-C. Everything listens on loopback only.
 * Env: DEMO_PORT (3010, the broker and the landing page), DEMO_OP_PORT (3011), DEMO_PORTAL_PORT (3012),
 * DEMO_HOST (localhost: the host name in the URLs), TYK_LOGLEVEL.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { createBroker, StartupError, type Broker } from '../src/broker.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { configureLogging, getLogger, registerSecret } from '../src/log.js';
import { watchLoginFailures } from './failures.js';
import { callbackUrls, CLIENT_ID, demoProfiles, tibConf, type DemoSecrets } from './files.js';
import { landingRoutes } from './landing.js';
import { createDemoOp } from './op.js';
import { createPortalApp } from './portal-app.js';
import { describeListenError, listen, stop } from './serve.js';
import { demoUrls, LOOPBACK, readSettings, SettingsError } from './settings.js';
import { DEMO_USERS, DemoDirectory } from './users.js';

const secret = () => randomBytes(32).toString('base64url');

async function main(): Promise<number> {
  let settings;
  try {
    settings = readSettings(process.env);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    console.error(`demo: ${err.message}`);
    return 2;
  }
  const urls = demoUrls(settings);
  const secrets: DemoSecrets = { adminApi: secret(), portalApi: secret(), portalAdmin: secret(), portalAdminToken: secret(), client: secret() };
  const sessionSecret = secret();
  for (const s of [...Object.values(secrets), sessionSecret]) registerSecret(s);

  // The files an operator would write, for this run only (mkdtemp makes the folder private to this user).
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'identity-broker-demo-'));
  const confPath = path.join(dir, 'tib.conf');
  const profilesPath = path.join(dir, 'profiles.json');
  const profiles = demoProfiles(urls, secrets);
  await fs.writeFile(confPath, JSON.stringify(tibConf(urls, dir, secrets), null, 2), { mode: 0o600 });
  await fs.writeFile(profilesPath, JSON.stringify(profiles, null, 2), { mode: 0o600 });

  const servers: http.Server[] = [];
  let broker: Broker | undefined;
  const shutdown = async () => {
    await Promise.all(servers.map(stop));
    await broker?.close();
    await fs.rm(dir, { recursive: true, force: true });
  };

  try {
    // The broker's own loader and checks, as for an operator's files; only the log level comes from outside.
    const { config, warnings } = loadConfig({ confPath, env: { TYK_IB_SESSION_SECRET: sessionSecret, TYK_LOGLEVEL: process.env.TYK_LOGLEVEL } });
    configureLogging({ level: config.LogLevel, format: config.LogFormat });
    const log = getLogger('DEMO');
    for (const w of warnings) log.warn(w);

    // Each user's groups now: the landing page changes them, the OP puts them in the next id token.
    const directory = new DemoDirectory();
    const op = createDemoOp({ issuer: urls.issuer, client: { id: CLIENT_ID, secret: secrets.client, redirectUris: callbackUrls(urls, profiles) }, landing: urls.landing, directory });
    const failures = watchLoginFailures();
    const portal = createPortalApp({ apiSecret: secrets.portalApi, adminSecret: secrets.portalAdmin, adminToken: secrets.portalAdminToken, landing: urls.landing, lastFailure: failures.latest });
    const start = async (app: express.Express, port: number, variable: string) => {
      try {
        servers.push(await listen(app, port, LOOPBACK));
      } catch (err) {
        throw new SettingsError(describeListenError(err, port, variable));
      }
    };
    await start(op.app, settings.opPort, 'DEMO_OP_PORT');
    await start(portal.app, settings.portalPort, 'DEMO_PORTAL_PORT');

    broker = await createBroker({ config, profilesPath, watch: false, strict: true });
    const host = express();
    host.disable('x-powered-by');
    host.use(landingRoutes(urls, profiles, DEMO_USERS, directory));
    host.use(broker.router);
    await start(host, settings.brokerPort, 'DEMO_PORT');

    log.info('the warnings above (plain http, the OP keeping its sessions in memory) are expected of a local demo');
    log.info(`demo OpenID Provider (stand-in for your IdP): ${urls.issuer}`);
    log.info(`demo portal (stand-in for the Tyk Dashboard and Developer Portal): ${urls.portal}/`);
    log.info(`identity broker demo ready: open ${urls.landing} (Ctrl-C stops it)`);
  } catch (err) {
    await shutdown();
    if (err instanceof SettingsError || err instanceof ConfigError || err instanceof StartupError) {
      console.error(`demo: cannot start:\n${err.message}`);
      return 1;
    }
    throw err;
  }

  await new Promise<void>((resolve) => {
    const quit = (signal: string) => {
      getLogger('DEMO').info(`${signal}: stopping the demo`);
      // A second Ctrl-C while stopping ends the process at once.
      process.once(signal, () => process.exit(130));
      void shutdown().then(resolve);
    };
    process.once('SIGINT', () => quit('SIGINT'));
    process.once('SIGTERM', () => quit('SIGTERM'));
  });
  getLogger('DEMO').info('demo stopped');
  return 0;
}

process.exitCode = await main();
