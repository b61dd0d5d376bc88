/**
 * The Tyk session object both token actions send (docs/tib-behaviour.md §5.8): the body of `POST /api/keys`, and the
 * `key_rules` of the Gateway's OAuth authorize-client call. Keys in TIB's order (Go struct order), with the
 * zero values TIB sends, so the Dashboard and Gateway see exactly what TIB gave them.
 */
import type { Identity } from '../identity/identity.js';
import type { Profile } from '../profiles/profile.js';

export interface KeySessionOptions {
  /** The API the key grants access to (`TokenAuth.BaseAPIID` / `OAuth.BaseAPIID`). */
  apiId: string;
  /** Absolute Unix seconds, or -1 (OAuth: the Gateway's OAuth settings decide). */
  expires: number;
  /** `OAuth.ClientId`; "" for a standard key. */
  oauthClientId: string;
}

export function keySession(profile: Profile, identity: Identity, opts: KeySessionOptions) {
  // A computed key defines an own property, whatever the API id (even "__proto__").
  const accessRights = { [opts.apiId]: { api_name: 'Base', api_id: opts.apiId, versions: ['Default'], allowed_urls: null } };
  return {
    last_check: 0,
    allowance: 1,
    rate: 1,
    per: 1,
    expires: opts.expires,
    quota_max: 1,
    quota_renews: 60,
    quota_remaining: 1,
    quota_renewal_rate: 1,
    access_rights: accessRights,
    org_id: profile.OrgID,
    oauth_client_id: opts.oauthClientId,
    oauth_keys: null,
    basic_auth_data: { password: '', hash_type: '' },
    jwt_data: { secret: '' },
    hmac_enabled: false,
    hmac_string: '',
    is_inactive: false,
    apply_policy_id: profile.MatchedPolicyID,
    data_expires: 0,
    monitor: { trigger_limits: null },
    // Go marshals a map with its keys sorted. The IdP access token goes into the key, as TIB documents
    // ($tyk_meta.AccessToken for header injection).
    meta_data: {
      AccessToken: identity.accessToken ?? '',
      AccessTokenSecret: identity.accessTokenSecret ?? '',
      AuthProviderSource: identity.provider,
      AuthProviderUserID: identity.userId,
      Origin: 'TAP',
    },
    tags: ['TykOrigin-TAP'],
  };
}

/** TIB's cache key for a user: the raw `UserID@Provider.com` (CustomUserIDField is not applied, as in TIB). */
export function ssoKey(identity: Identity): string {
  return `${identity.userId}@${identity.provider}.com`;
}
