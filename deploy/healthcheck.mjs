// The image's HEALTHCHECK: GET /health on the broker's own port over loopback; exit 0 when it answers 200.
// The port is TYK_IB_PORT, else tib.conf's Port, else 3010 (TIB's default); https when UseSSL is on.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

/** A key of Go-decoded JSON: matched case-insensitively, as TIB reads tib.conf. */
const field = (obj, name) => (obj && typeof obj === 'object' ? Object.entries(obj).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] : undefined);

let conf = {};
try {
  conf = JSON.parse(fs.readFileSync(process.env.TIB_CONF_PATH || '/opt/tyk-identity-broker/tib.conf', 'utf8'));
} catch {
  // No readable tib.conf (env-only configuration): the variables and defaults decide.
}
const port = Number(process.env.TYK_IB_PORT || field(conf, 'Port') || 3010);
const sslEnv = process.env.TYK_IB_HTTPSERVEROPTIONS_USESSL;
const useSsl = sslEnv !== undefined ? /^(1|t|true)$/i.test(sslEnv) : field(field(conf, 'HttpServerOptions'), 'UseSSL') === true;

// Loopback to this very process: its certificate names the public host, not 127.0.0.1.
const req = (useSsl ? https : http).get({ host: '127.0.0.1', port, path: '/health', timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
