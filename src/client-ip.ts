/**
 * The address a request comes from, for per-client limits (brute-force protection). X-Forwarded-For is a
 * header anybody can send: it is believed only when the socket peer is one of tib.conf's TrustedProxies, and
 * then only as far as the chain of trusted proxies goes (the right-most address no trusted proxy added is the
 * client). Pure functions: no Express, no configuration.
 */
import net from 'node:net';

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is the IPv4 address it carries. */
export function normalizeIp(address: string): string {
  const a = address.trim();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped && net.isIPv4(mapped[1] as string)) return mapped[1] as string;
  // A zone id (fe80::1%eth0) names an interface, not a different client.
  const unzoned = a.includes('%') ? (a.split('%')[0] as string) : a;
  return net.isIPv6(unzoned) ? unzoned.toLowerCase() : unzoned;
}

/**
 * What a TrustedProxies entry is wrong with, or undefined: an IPv4 or IPv6 address, or a CIDR block such
 * as `10.0.0.0/8` or `fd00::/8`.
 */
export function trustedProxyProblem(entry: string): string | undefined {
  const [addr = '', bits, extra] = entry.split('/');
  const family = net.isIPv4(addr) ? 4 : net.isIPv6(addr) ? 6 : 0;
  if (family === 0 || extra !== undefined) return `${JSON.stringify(entry)} is not an IP address or a CIDR block such as "10.0.0.0/8"`;
  if (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128))) {
    return `${JSON.stringify(entry)}: the prefix length must be 0 to ${family === 4 ? 32 : 128}`;
  }
  return undefined;
}

/** A set of trusted proxies from validated TrustedProxies entries (see trustedProxyProblem). */
export class TrustedProxies {
  private readonly list = new net.BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [addr = '', bits] = entry.split('/');
      const ip = normalizeIp(addr);
      const type = net.isIPv4(ip) ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(ip, type);
      else this.list.addSubnet(ip, Number(bits), type);
    }
    this.empty = entries.length === 0;
  }

  has(address: string): boolean {
    if (this.empty) return false;
    const ip = normalizeIp(address);
    if (net.isIPv4(ip)) return this.list.check(ip, 'ipv4');
    if (net.isIPv6(ip)) return this.list.check(ip, 'ipv6');
    return false;
  }
}

/** Some proxies (Azure's among them) append `192.0.2.1:5678` or `[2001:db8::1]:5678`. */
function withoutPort(hop: string): string {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(hop);
  if (v6) return v6[1] as string;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(hop);
  return v4 ? (v4[1] as string) : hop;
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy; then X-Forwarded-For read
 * from the right, skipping trusted proxies. An entry that is not an IP address ends the walk (a proxy we
 * trust would have appended a real address): the last trusted hop is the answer then.
 */
export function clientIp(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {
  let client = normalizeIp(socketAddress ?? '');
  if (!trusted.has(client) || forwardedFor === undefined) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => h.trim()).filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(withoutPort(hops[i] as string));
    if (net.isIP(hop) === 0) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

/**
 * What a per-IP counter counts under: the address for IPv4, the /64 network for IPv6. One IPv6 subscriber
 * or LAN gets a whole /64 (often more), so counting single IPv6 addresses would give an attacker a fresh
 * budget per address; a /64 is to IPv6 what one address behind a NAT is to IPv4.
 */
export function ipCounterKey(ip: string): string {
  if (!net.isIPv6(ip)) return ip;
  const [head = '', tail] = ip.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined) {
    const tailGroups = tail === '' ? [] : tail.split(':');
    // An embedded IPv4 address (last 32 bits) takes two groups.
    const tailSize = tailGroups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
    groups.push(...Array<string>(Math.max(0, 8 - groups.length - tailSize)).fill('0'), ...tailGroups);
  }
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * The client a peer outside TrustedProxies names in X-Forwarded-For (the right-most entry, the one a balancer
 * appends), or undefined. Never the client address: anybody can send the header. The brute-force guard uses it
 * only to avoid locking out everyone behind a balancer the operator forgot to list (state/brute-force.ts).
 */
export function untrustedForwardedClient(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string | undefined {
  if (forwardedFor === undefined || trusted.has(socketAddress ?? '')) return undefined;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  const last = normalizeIp(withoutPort((hops[hops.length - 1] ?? '').trim()));
  return net.isIP(last) === 0 ? undefined : last;
}
