/**
 * The Tyk targets one profile's action calls: tib.conf's `TykAPISettings`, each key of the profile's own
 * `TykAPISettings` overriding it (docs/portal-membership.md), so one broker serves Dashboard SSO and Portal SSO,
 * or two portals. Pure.
 */
import type { Config } from '../config/types.js';
import type { Profile } from './profile.js';

export type TykTargets = Pick<Config['TykAPISettings'], 'DashboardConfig' | 'GatewayConfig' | 'PortalAPIConfig'>;

export function tykTargetsOf(config: Pick<Config, 'TykAPISettings'>, profile: Pick<Profile, 'TykAPISettings'>): TykTargets {
  const base = config.TykAPISettings;
  const own = profile.TykAPISettings ?? {};
  return {
    DashboardConfig: { ...base.DashboardConfig, ...own.DashboardConfig },
    GatewayConfig: { ...base.GatewayConfig, ...own.GatewayConfig },
    PortalAPIConfig: { ...base.PortalAPIConfig, ...own.PortalAPIConfig },
  };
}

/** tib.conf with this profile's targets in place: what its action and the checks of its needs read. */
export function configForProfile<C extends Pick<Config, 'TykAPISettings'>>(config: C, profile: Pick<Profile, 'TykAPISettings'>): C {
  if (!profile.TykAPISettings) return config;
  return { ...config, TykAPISettings: { ...config.TykAPISettings, ...tykTargetsOf(config, profile) } };
}

/** Which of a profile's own keys override tib.conf's (for messages): `TykAPISettings.DashboardConfig.Endpoint`. */
export function ownTykKeys(profile: Pick<Profile, 'TykAPISettings'>): string[] {
  const own = profile.TykAPISettings ?? {};
  return Object.entries(own).flatMap(([group, keys]) => Object.keys(keys ?? {}).map((k) => `TykAPISettings.${group}.${k}`));
}
