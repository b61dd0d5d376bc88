/**
 * Where the broker listens: tib.conf ListenAddress (ours; Tyk Gateway's tyk.conf calls it listen_address)
 * and Management.Host, checked alike at load; what counts as loopback; the URLs that logs and the debug
 * config dump show. Pure: no lookups.
 */
import net from 'node:net';

/** TIB's port when tib.conf Port is 0 (docs/tib-behaviour.md §1.2). */
export const DEFAULT_PORT = 3010;

/** Why `value` cannot be a listen address, or undefined. Empty means all interfaces (as TIB) where allowed. */
export function listenAddressProblem(value: string, allowEmpty: boolean): string | undefined {
  if (value === '') return allowEmpty ? undefined : 'must be an IP address or host name such as "127.0.0.1", got ""';
  if (net.isIP(value)) return undefined;
  const got = JSON.stringify(value);
  if (/^\[[0-9A-Fa-f:.]+\]$/.test(value)) return `an IPv6 address is written without brackets, e.g. "::1", got ${got}`;
  if (/^[^:]+:\d+$/.test(value) || /^\[[0-9A-Fa-f:.]+\]:\d+$/.test(value)) return `is an address without a port (the port is Port), got ${got}`;
  if (value === '*') return `leave it empty ("") for all interfaces, got ${got}`;
  const labels = value.replace(/\.$/, '').split('.');
  const hostName = value.length <= 253 && labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
  return hostName ? undefined : `must be an IPv4 or IPv6 address or a host name such as "127.0.0.1", got ${got}`;
}

/**
 * Whether a listener on `address` is reachable from this host only: a loopback IP (127.0.0.0/8, ::1, and
 * 127.x mapped into IPv6) or the name localhost. Empty (all interfaces), 0.0.0.0, :: and any other name or
 * address are not: a name other than localhost is known only once resolved (src/server.ts resolves it).
 */
export function isLoopbackOnly(address: string): boolean {
  const a = address.toLowerCase().replace(/\.$/, '');
  if (a === 'localhost') return true;
  if (net.isIPv4(a)) return a.startsWith('127.');
  if (!net.isIPv6(a)) return false;
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped !== null && (mapped[1] as string).startsWith('127.');
}

/** `http://127.0.0.1:3010`, `https://[::1]:3010`; empty or undefined (all interfaces) shows as `*`. */
export function listenUrl(tls: boolean, address: string | undefined, port: number): string {
  const host = !address ? '*' : net.isIPv6(address) ? `[${address}]` : address;
  return `${tls ? 'https' : 'http'}://${host}:${port}`;
}
