/**
 * What the demo reads from the environment (ports and the host name in its URLs) and the URLs it derives.
 * Everything listens on loopback only: the demo has no real users and must not be reachable from elsewhere.
 */

export const LOOPBACK = '127.0.0.1';

export interface DemoSettings {
  /** The host name in every URL the browser sees (default `localhost`). */
  host: string;
  /** The broker's port, which also serves the landing page (TIB's 3010). */
  brokerPort: number;
  opPort: number;
  portalPort: number;
}

export interface DemoUrls {
  landing: string;
  broker: string;
  issuer: string;
  portal: string;
}

/** A bad variable, named with the value it should have. */
export class SettingsError extends Error {}

export function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 65535) throw new SettingsError(`${name}=${JSON.stringify(raw)}: must be a port number from 1 to 65535`);
  return n;
}

export function readSettings(env: NodeJS.ProcessEnv): DemoSettings {
  const host = env.DEMO_HOST || 'localhost';
  // A host name or an IPv4 address; anything else would break the URLs the profiles are built from.
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(host)) throw new SettingsError(`DEMO_HOST=${JSON.stringify(host)}: must be a host name such as localhost`);
  const s = { host, brokerPort: port(env, 'DEMO_PORT', 3010), opPort: port(env, 'DEMO_OP_PORT', 3011), portalPort: port(env, 'DEMO_PORTAL_PORT', 3012) };
  if (new Set([s.brokerPort, s.opPort, s.portalPort]).size < 3) throw new SettingsError('DEMO_PORT, DEMO_OP_PORT and DEMO_PORTAL_PORT must be three different ports');
  return s;
}

export function demoUrls(s: DemoSettings): DemoUrls {
  const at = (p: number) => `http://${s.host}:${p}`;
  return { landing: `${at(s.brokerPort)}/`, broker: at(s.brokerPort), issuer: at(s.opPort), portal: at(s.portalPort) };
}
