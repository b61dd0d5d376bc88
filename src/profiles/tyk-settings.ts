/**
 * The Tyk targets one profile's action calls: tib.conf's `TykAPISettings`, each key of the profile's own
 * `TykAPISettings` overriding it (docs/portal-membership.md), so one broker serves Dashboard SSO and Portal SSO,
 * or two portals; tib.conf's secret of a target stays with tib.conf's host. Pure.
 */
import type { Config } from '../config/types.js';
import type { Profile } from './profile.js';

export type TykTargets = Pick<Config['TykAPISettings'], 'DashboardConfig' | 'GatewayConfig' | 'PortalAPIConfig'>;

/**
 * One target: the profile's keys over tib.conf's. A profile that moves the target (another Endpoint or Port)
 * never inherits tib.conf's secret for it: its own, or none. Otherwise whoever may write profiles could send
 * tib.conf's Dashboard admin secret, Gateway secret or portal admin token to a host of their choosing.
 */
function target<T extends { Endpoint: string }>(base: T, own: Partial<T> | undefined, secret: keyof T & string): T {
  if (!own) return base;
  const moved = (Object.keys(own) as (keyof T)[]).some((k) => (k === 'Endpoint' || k === 'Port') && own[k] !== base[k]);
  return { ...base, ...(moved && { [secret]: '' }), ...own };
}

export function tykTargetsOf(config: Pick<Config, 'TykAPISettings'>, profile: Pick<Profile, 'TykAPISettings'>): TykTargets {
  const base = config.TykAPISettings;
  const own = profile.TykAPISettings ?? {};
  return {
    DashboardConfig: target(base.DashboardConfig, own.DashboardConfig, 'AdminSecret'),
    GatewayConfig: target(base.GatewayConfig, own.GatewayConfig, 'AdminSecret'),
    PortalAPIConfig: target(base.PortalAPIConfig, own.PortalAPIConfig, 'AdminToken'),
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
