/**
 * The optional allow-list of identity-provider and directory hosts (tib.conf `AllowedIdPHosts`, ours). A
 * profile names hosts the broker connects to; without a list, whoever holds the admin secret can point a
 * profile at any host the broker can reach. Entries are exact host names or IP addresses, or `*.suffix`
 * for any name below that suffix. Pure functions: config loading checks the entries, profile validation
 * checks the hosts.
 */
import net from 'node:net';
import { domainToASCII } from 'node:url';
import type { ProviderConfigs } from '../providers/config.js';
import { metadataSource } from '../providers/saml/saml-config.js';
import type { ProviderName } from '../profiles/profile.js';

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

function urlHost(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** Every host a profile's provider config makes the broker connect to, with the field that names it. */
export function outboundHosts<K extends ProviderName>(name: K, config: ProviderConfigs[K]): Array<{ field: string; host: string }> {
  const out: Array<{ field: string; host: string }> = [];
  const url = (field: string, value: string) => {
    const host = value === '' ? undefined : urlHost(value);
    if (host !== undefined) out.push({ field: `ProviderConfig.${field}`, host });
  };
  if (name === 'ADProvider') {
    const c = config as ProviderConfigs['ADProvider'];
    if (c.LDAPServer !== '') out.push({ field: 'ProviderConfig.LDAPServer', host: c.LDAPServer });
  } else if (name === 'SocialProvider') {
    (config as ProviderConfigs['SocialProvider']).UseProviders.forEach((p, i) => {
      for (const k of ['DiscoverURL', 'AuthURL', 'TokenURL', 'ProfileURL', 'EmailURL'] as const) url(`UseProviders[${i}].${k}`, p[k]);
    });
  } else if (name === 'SAMLProvider') {
    // A local metadata file (absolute path or file:// URL) connects nowhere.
    const source = metadataSource((config as ProviderConfigs['SAMLProvider']).IDPMetadataURL);
    if (source?.kind === 'url') url('IDPMetadataURL', source.url);
  } else if (name === 'ProxyProvider') {
    url('TargetHost', (config as ProviderConfigs['ProxyProvider']).TargetHost);
  }
  return out;
}
