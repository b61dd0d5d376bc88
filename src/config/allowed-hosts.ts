/**
 * The optional allow-list of identity-provider and directory hosts (tib.conf `AllowedIdPHosts`, ours). A
 * profile names hosts the broker connects to; without a list, whoever holds the admin secret can point a
 * profile at any host the broker can reach. Entries are exact host names or IP addresses, or `*.suffix`
 * for any name below that suffix. Pure functions: config loading checks the entries, profile validation
 * checks the hosts each provider module names (src/providers/module.ts outboundHosts).
 */
import net from 'node:net';
import { domainToASCII } from 'node:url';

const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** A name with non-ASCII labels in punycode, as URLs give it ("bücher.example" is "xn--bcher-kva.example"). */
function asciiName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(name)) return name;
  const wild = name.startsWith('*.') ? '*.' : '';
  return wild + (domainToASCII(name.slice(wild.length)) || name.slice(wild.length));
}

/**
 * Lower case, without IPv6 brackets or a trailing dot, IPv6 in its canonical form, names in punycode: so
 * "[::1]", "0:0::1", "Host.Example." and "bücher.example" compare as the hosts of URLs do.
 */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase().replace(/\.$/, '');
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return net.isIPv6(h) ? new URL(`http://[${h}]/`).hostname.slice(1, -1) : asciiName(h);
}

/** Why an allow-list entry is unusable, or undefined when it is fine. */
export function hostPatternProblem(pattern: string): string | undefined {
  const p = normaliseHost(pattern);
  if (net.isIP(p)) return undefined;
  const name = p.startsWith('*.') ? p.slice(2) : p;
  if (name.includes('*') || !HOST_NAME.test(name)) {
    return `${JSON.stringify(pattern)} is not a host name, an IP address or a "*.example.com" wildcard (no scheme, port or path)`;
  }
  return undefined;
}

export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  const h = normaliseHost(host);
  return patterns.some((raw) => {
    const p = normaliseHost(raw);
    return p.startsWith('*.') ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p;
  });
}
