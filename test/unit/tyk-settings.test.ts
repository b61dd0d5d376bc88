/**
 * A profile's own TykAPISettings over tib.conf's (src/profiles/tyk-settings.ts): each key it sets wins, and a
 * target it moves to another host or port never carries tib.conf's secret there.
 */
import { describe, expect, it } from '@jest/globals';
import { defaultConfig } from '../../src/config/load.js';
import { tykTargetsOf } from '../../src/profiles/tyk-settings.js';

const config = defaultConfig();
config.TykAPISettings.DashboardConfig = { Endpoint: 'http://dashboard', Port: '3000', AdminSecret: 'dashboard-admin-secret' };
config.TykAPISettings.GatewayConfig = { Endpoint: 'http://gateway', Port: '8080', AdminSecret: 'gateway-secret' };
config.TykAPISettings.PortalAPIConfig = { Endpoint: 'http://portal:3001', AdminToken: 'portal-admin-token' };

describe("a profile's own Tyk targets", () => {
  it('without any, tib.conf\'s as they are', () => {
    const t = tykTargetsOf(config, {});
    expect(t).toEqual({ DashboardConfig: config.TykAPISettings.DashboardConfig, GatewayConfig: config.TykAPISettings.GatewayConfig, PortalAPIConfig: config.TykAPISettings.PortalAPIConfig });
  });

  it('another host or port does not inherit tib.conf\'s secret for that target', () => {
    const t = tykTargetsOf(config, {
      TykAPISettings: { DashboardConfig: { Endpoint: 'http://elsewhere' }, GatewayConfig: { Port: '9999' }, PortalAPIConfig: { Endpoint: 'http://attacker.example' } },
    });
    expect(t.DashboardConfig).toEqual({ Endpoint: 'http://elsewhere', Port: '3000', AdminSecret: '' });
    expect(t.GatewayConfig).toEqual({ Endpoint: 'http://gateway', Port: '9999', AdminSecret: '' });
    expect(t.PortalAPIConfig).toEqual({ Endpoint: 'http://attacker.example', AdminToken: '' });
  });

  it('the profile\'s own secret goes to its own host; the same host keeps tib.conf\'s secret', () => {
    const t = tykTargetsOf(config, {
      TykAPISettings: { DashboardConfig: { Endpoint: 'http://portal', Port: '3001', AdminSecret: 'own' }, PortalAPIConfig: { AdminToken: 'other-admin' }, GatewayConfig: { Endpoint: 'http://gateway' } },
    });
    expect(t.DashboardConfig.AdminSecret).toBe('own');
    expect(t.PortalAPIConfig).toEqual({ Endpoint: 'http://portal:3001', AdminToken: 'other-admin' });
    expect(t.GatewayConfig.AdminSecret).toBe('gateway-secret');
  });
});
