/** ProxyProvider as the broker knows it: an existing HTTP login service decides (docs/providers/proxy.md). */
import { ClaimsError, urlHost, type ProviderModule } from '../module.js';
import { proxyIdentity, whoFrom } from './answer.js';
import { readProxyConfig, type ProxyConfig } from './proxy-config.js';

export const proxyModule: ProviderModule<ProxyConfig> = {
  name: 'ProxyProvider',
  readConfig: readProxyConfig,
  // The upstream client: imported when the first proxy profile is built (registry.ts prepare).
  load: async () => (await import('./proxy.js')).createProxyProvider,
  outboundHosts: (c) => urlHost('ProviderConfig.TargetHost', c.TargetHost),
  // The claims are the upstream's JSON answer; `username` the Basic username the request would carry.
  identityFromClaims: ({ config }, claims, username) => {
    const who = whoFrom(config, username || undefined, Buffer.from(JSON.stringify(claims)));
    if (!who.ok) throw new ClaimsError(who.reason);
    return proxyIdentity(who.username, who.accessToken);
  },
  failureClasses: { unreachable: 'upstream_error', refused: 'bad_request' },
};

