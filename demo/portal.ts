/**
 * The demo portal on its own: `node dist-demo/demo/portal.js`, for a compose stack that runs the broker
 * against it. DEMO_PORTAL_API_SECRET (required) is the profiles' DashboardCredential, DEMO_PORTAL_ADMIN_SECRET
 * tib.conf's DashboardConfig.AdminSecret (optional), DEMO_PORTAL_ADMIN_TOKEN tib.conf's PortalAPIConfig.AdminToken
 * (optional: without it the admin API at /portal-api refuses every call), DEMO_PORTAL_PORT (3012) and DEMO_PORTAL_HOST (127.0.0.1)
 * where it listens, DEMO_LANDING_URL an optional link back. SIGINT and SIGTERM stop it.
 */
import { createPortalApp } from './portal-app.js';
import { describeListenError, listen, stop } from './serve.js';
import { port, SettingsError } from './settings.js';

/** As the broker asks of profile secrets: long enough not to be guessed. */
const MIN_SECRET = 16;

async function main(env: NodeJS.ProcessEnv): Promise<number> {
  let listenPort: number;
  try {
    listenPort = port(env, 'DEMO_PORTAL_PORT', 3012);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    console.error(`demo portal: ${err.message}`);
    return 2;
  }
  const host = env.DEMO_PORTAL_HOST || '127.0.0.1';
  const apiSecret = env.DEMO_PORTAL_API_SECRET ?? '';
  const adminSecret = env.DEMO_PORTAL_ADMIN_SECRET ?? '';
  const adminToken = env.DEMO_PORTAL_ADMIN_TOKEN ?? '';
  if (apiSecret.length < MIN_SECRET || [adminSecret, adminToken].some((s) => s !== '' && s.length < MIN_SECRET)) {
    console.error(
      `demo portal: DEMO_PORTAL_API_SECRET must be set to the broker profiles' DashboardCredential, and it, DEMO_PORTAL_ADMIN_SECRET (optional: tib.conf's DashboardConfig.AdminSecret) and DEMO_PORTAL_ADMIN_TOKEN (optional: tib.conf's PortalAPIConfig.AdminToken) must be at least ${MIN_SECRET} characters`,
    );
    return 2;
  }
  const { app } = createPortalApp({ apiSecret, adminSecret, adminToken, landing: env.DEMO_LANDING_URL || undefined });
  let server;
  try {
    server = await listen(app, listenPort, host);
  } catch (err) {
    console.error(`demo portal: ${describeListenError(err, listenPort, 'DEMO_PORTAL_PORT')}`);
    return 1;
  }
  process.stdout.write(`demo portal (a stand-in for the Tyk Dashboard and Developer Portal) listening on http://${host}:${listenPort}\n`);
  const done = server;
  await new Promise<void>((resolve) => {
    const quit = () => void stop(done).then(resolve);
    process.once('SIGINT', quit);
    process.once('SIGTERM', quit);
  });
  process.stdout.write('demo portal stopped\n');
  return 0;
}

process.exitCode = await main(process.env);
