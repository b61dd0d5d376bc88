/**
 * The tib.conf and profiles.json the demo writes for the broker: the same files an operator writes, for the
 * two audiences of Tyk SSO. Both profiles sign in through the demo OP and map its `groups` claim to teams; the
 * developer profile's `Membership` is in "idp" mode, so the broker makes the demo portal's account follow the
 * groups at every login through the portal's admin API (docs: issue 19's design, src/portal/).
 */
import type { DemoUrls } from './settings.js';

export interface DemoSecrets {
  /** The broker's admin API secret (tib.conf Secret). */
  adminApi: string;
  /** The portal's API secret: the profiles' DashboardCredential (Tyk's PORTAL_API_SECRET / a Dashboard user's key). */
  portalApi: string;
  /** The portal's admin secret (tib.conf DashboardConfig.AdminSecret, for `/admin/sso`). */
  portalAdmin: string;
  /** A portal admin's API credential (tib.conf PortalAPIConfig.AdminToken, for `/portal-api`). */
  portalAdminToken: string;
  /** The broker's OIDC client secret at the OP. */
  client: string;
}

export const CLIENT_ID = 'identity-broker-demo';
export const DEVELOPERS = 'demo-developers';
export const ADMINS = 'demo-admins';

export interface DemoProfile {
  ID: string;
  Name: string;
  ActionType: 'GenerateOrLoginDeveloperProfile' | 'GenerateOrLoginUserProfile';
  ReturnURL: string;
  UserGroupMapping: Record<string, string>;
  DefaultUserGroupID: string;
  Membership?: DemoMembership;
  [key: string]: unknown;
}

/** A developer profile's `Membership` (issue 19's design: GenerateOrLoginDeveloperProfile only). */
export interface DemoMembership {
  Authority: 'idp' | 'portal';
  Teams: 'all' | 'first';
  DefaultRole: string;
  RoleMapping: Record<string, string>;
}

export function tibConf(urls: DemoUrls, profileDir: string, secrets: DemoSecrets) {
  const portal = new URL(urls.portal);
  return {
    Secret: secrets.adminApi,
    Port: Number(new URL(urls.broker).port),
    ProfileDir: profileDir,
    BackEnd: { Name: 'in_memory' },
    Storage: { storage_type: 'file' },
    TykAPISettings: {
      DashboardConfig: { Endpoint: `${portal.protocol}//${portal.hostname}`, Port: portal.port, AdminSecret: secrets.portalAdmin },
      // The Developer Portal's admin API: the broker adds /portal-api.
      PortalAPIConfig: { Endpoint: urls.portal, AdminToken: secrets.portalAdminToken },
    },
  };
}

export function demoProfiles(urls: DemoUrls, secrets: DemoSecrets): DemoProfile[] {
  const common = (id: string) => ({
    ID: id,
    OrgID: 'demo-org',
    ProviderName: 'SocialProvider',
    Type: 'redirect',
    IdentityHandlerConfig: { DashboardCredential: secrets.portalApi },
    CustomUserGroupField: 'groups',
    ProviderConfig: {
      CallbackBaseURL: urls.broker,
      FailureRedirect: `${urls.portal}/login-failed`,
      UseProviders: [
        {
          Name: 'openid-connect',
          Key: CLIENT_ID,
          Secret: secrets.client,
          DiscoverURL: `${urls.issuer}/.well-known/openid-configuration`,
          Scopes: ['openid', 'email', 'profile', 'groups'],
        },
      ],
    },
  });
  return [
    {
      ...common(DEVELOPERS),
      Name: 'Developer Portal sign-in (Portal SSO)',
      ActionType: 'GenerateOrLoginDeveloperProfile',
      ReturnURL: `${urls.portal}/sso`,
      // Teams by stable name, `<organisation name>/<team name>`, resolved through the admin API (demo/portal-store.ts
      // DEMO_ORGANISATIONS seeds them); in mapping order, which also picks the organisation when teams span two.
      UserGroupMapping: { developers: 'Acme/Internal', partners: 'Acme/Partners', globex: 'Globex/Developers' },
      DefaultUserGroupID: 'Acme/Partners',
      Membership: { Authority: 'idp', Teams: 'all', DefaultRole: 'consumer-team-member', RoleMapping: { admins: 'consumer-admin' } },
    },
    {
      ...common(ADMINS),
      Name: 'Dashboard sign-in (Dashboard SSO)',
      ActionType: 'GenerateOrLoginUserProfile',
      ReturnURL: `${urls.portal}/tap`,
      UserGroupMapping: { admins: 'group-admins', developers: 'group-api-editors' },
      DefaultUserGroupID: 'group-viewers',
    },
  ];
}

/** Where the broker's login for a profile starts (TIB's route). */
export function loginPath(profileId: string): string {
  return `/auth/${encodeURIComponent(profileId)}/openid-connect`;
}

export function callbackUrls(urls: DemoUrls, profiles: readonly DemoProfile[]): string[] {
  return profiles.map((p) => `${urls.broker}${loginPath(p.ID)}/callback`);
}
