/**
 * The portal keys of a profile (ours, docs/portal-membership.md): `Membership`, a profile's own
 * `TykAPISettings`, and the team references of a portal profile's `UserGroupMapping` and `DefaultUserGroupID`
 * (src/portal/team-ref.ts). Each is kept only when set, so a profile without them stays TIB's on disk and on the wire.
 */
import { isLoopbackOnly } from '../config/listen.js';
import { isPortalEndpoint } from '../config/load.js';
import { didYouMean } from '../config/suggest.js';
import { isTeamId, parseTeamRef } from '../portal/team-ref.js';
import type { FieldError, FieldReader } from './fields.js';
import { PORTAL_ROLES, type Membership, type PortalRole, type Profile, type OktaSyncSource, type ProfileTykSettings, type ScimSyncSource, type SyncSettings } from './profile.js';

const PORTAL_ACTION = 'GenerateOrLoginDeveloperProfile';

function oneOf<T extends string>(r: FieldReader, key: string, allowed: readonly T[], fallback: T): T {
  const v = r.string(key, fallback);
  if ((allowed as readonly string[]).includes(v)) return v as T;
  r.error(key, `must be ${allowed.map((a) => JSON.stringify(a)).join(' or ')}, got ${JSON.stringify(v)}${didYouMean(v, allowed)}`);
  return fallback;
}

function readMembership(r: FieldReader, actionType: string, errors: FieldError[]): Membership | undefined {
  if (!r.has('Membership')) return undefined;
  const m = r.object('Membership');
  const role = (key: string, v: string, fallback: PortalRole): PortalRole => {
    if ((PORTAL_ROLES as readonly string[]).includes(v)) return v as PortalRole;
    m.error(key, `must be a portal consumer role, ${PORTAL_ROLES.map((x) => JSON.stringify(x)).join(' or ')}, got ${JSON.stringify(v)}${didYouMean(v, PORTAL_ROLES)}`);
    return fallback;
  };
  const roleMapping: Record<string, PortalRole> = {};
  for (const [group, v] of Object.entries(m.stringMap('RoleMapping'))) roleMapping[group] = role(`RoleMapping.${group}`, v, 'consumer-team-member');
  const out: Membership = {
    Authority: oneOf(m, 'Authority', ['portal', 'idp'] as const, 'portal'),
    Teams: oneOf(m, 'Teams', ['all', 'first'] as const, 'all'),
    RegisteredOnly: m.bool('RegisteredOnly'),
    DefaultRole: role('DefaultRole', m.string('DefaultRole', 'consumer-team-member'), 'consumer-team-member'),
    RoleMapping: roleMapping,
    OnPortalError: oneOf(m, 'OnPortalError', ['fail', 'continue'] as const, 'fail'),
  };
  for (const k of m.unknownKeys()) errors.push({ field: k, message: `is not a Membership key${didYouMean(k.replace(/^Membership\./, ''), m.knownKeys())}` });
  if (actionType !== PORTAL_ACTION) {
    errors.push({ field: 'Membership', message: `applies to ${PORTAL_ACTION} (Portal SSO) only, got ActionType ${JSON.stringify(actionType)}: remove it` });
  }
  return Object.freeze({ ...out, RoleMapping: Object.freeze(roleMapping) }) as Membership;
}

function readTykSettings(r: FieldReader): ProfileTykSettings | undefined {
  if (!r.has('TykAPISettings')) return undefined;
  const t = r.object('TykAPISettings');
  const out: ProfileTykSettings = {};
  const pick = (g: FieldReader, keys: readonly string[]) => Object.fromEntries(keys.filter((k) => g.has(k)).map((k) => [k, g.string(k)]));
  for (const name of ['DashboardConfig', 'GatewayConfig'] as const) {
    if (!t.has(name)) continue;
    const g = t.object(name);
    const e = pick(g, ['Endpoint', 'Port', 'AdminSecret']) as NonNullable<ProfileTykSettings['DashboardConfig']>;
    if (e.Endpoint !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(e.Endpoint)) g.error('Endpoint', `must be a scheme and host such as "http://tyk-dashboard", got ${JSON.stringify(e.Endpoint)}`);
    if (e.Port !== undefined && e.Port !== '' && !/^\d{1,5}$/.test(e.Port)) g.error('Port', `must be a port number as a string, got ${JSON.stringify(e.Port)}`);
    for (const k of g.unknownKeys()) g.error(k.slice(k.lastIndexOf('.') + 1), `is not a key of ${name} (Endpoint, Port, AdminSecret)`);
    out[name] = Object.freeze(e);
  }
  if (t.has('PortalAPIConfig')) {
    const g = t.object('PortalAPIConfig');
    const e = pick(g, ['Endpoint', 'AdminToken']) as NonNullable<ProfileTykSettings['PortalAPIConfig']>;
    if (e.Endpoint !== undefined && e.Endpoint !== '' && !isPortalEndpoint(e.Endpoint)) g.error('Endpoint', `must be the portal's base URL such as "http://tyk-portal:3001", got ${JSON.stringify(e.Endpoint)}`);
    for (const k of g.unknownKeys()) g.error(k.slice(k.lastIndexOf('.') + 1), 'is not a key of PortalAPIConfig (Endpoint, AdminToken)');
    out.PortalAPIConfig = Object.freeze(e);
  }
  for (const k of t.unknownKeys()) t.error(k.slice(k.lastIndexOf('.') + 1), `is not a key of a profile's TykAPISettings (DashboardConfig, GatewayConfig, PortalAPIConfig)${didYouMean(k.slice(k.lastIndexOf('.') + 1), ['DashboardConfig', 'GatewayConfig', 'PortalAPIConfig'])}`);
  return Object.freeze(out);
}

function readSync(r: FieldReader, actionType: string, membership: Membership | undefined, errors: FieldError[]): SyncSettings | undefined {
  if (!r.has('Sync')) return undefined;
  const y = r.object('Sync');
  // Which login providers can list their people is their module's business (Provider.people); a "ldap" sync of
  // one that cannot is refused when it runs, naming the profile.
  const source = oneOf(y, 'Source', ['ldap', 'okta', 'scim'] as const, 'ldap');
  const interval = y.int('IntervalSeconds', 1800);
  if (interval !== 0 && (interval < 60 || interval > 7 * 86400)) y.error('IntervalSeconds', `must be 0 (on demand only) or 60 to 604800 seconds, got ${interval}`);
  const percent = y.int('MaxDeprovisionPercent', 10);
  if (percent < 0 || percent > 100) y.error('MaxDeprovisionPercent', `must be 0 to 100, got ${percent}`);
  const out: SyncSettings = { Source: source, IntervalSeconds: interval, Deprovision: oneOf(y, 'Deprovision', ['deactivate', 'delete', 'none'] as const, 'deactivate'), MaxDeprovisionPercent: percent };
  if (source === 'okta') out.Okta = readOkta(y);
  else if (y.has('Okta')) y.error('Okta', `is read only with Source "okta" (Source is ${JSON.stringify(source)})`);
  if (source === 'scim') out.SCIM = readScim(y);
  else if (y.has('SCIM')) y.error('SCIM', `is read only with Source "scim" (Source is ${JSON.stringify(source)})`);
  for (const k of y.unknownKeys()) errors.push({ field: k, message: `is not a Sync key${didYouMean(k.replace(/^Sync\./, ''), y.knownKeys())}` });
  if (actionType !== PORTAL_ACTION || membership?.Authority !== 'idp') {
    errors.push({ field: 'Sync', message: `needs ${PORTAL_ACTION} with Membership.Authority "idp": a sync applies the login's membership rules` });
  }
  return Object.freeze(out);
}

function readOkta(y: FieldReader): OktaSyncSource {
  if (!y.has('Okta')) y.error('Okta', 'is required with Source "okta": {"OrgURL", "ClientID", "PrivateKeyFile", "KeyID", "UserSearch", "GroupFilter"} of an Okta API Services app');
  const o = y.object('Okta');
  const out: OktaSyncSource = {
    OrgURL: o.url('OrgURL', true).replace(/\/+$/, ''),
    ClientID: o.string('ClientID'),
    PrivateKeyFile: o.string('PrivateKeyFile'),
    KeyID: o.string('KeyID'),
    UserSearch: o.string('UserSearch'),
    GroupFilter: o.string('GroupFilter'),
  };
  if (out.OrgURL !== '') {
    const u = new URL(out.OrgURL);
    // Plain http only to a loopback host (a stand-in, a local proxy): the listener's own test (src/config/listen.ts).
    if (u.protocol !== 'https:' && !isLoopbackOnly(u.hostname.replace(/^\[|\]$/g, ''))) o.error('OrgURL', `must be https (the client assertion and the tokens cross it), got ${JSON.stringify(out.OrgURL)}`);
    else if (u.pathname !== '/' || u.search !== '' || u.hash !== '') o.error('OrgURL', `must be the org's base URL such as "https://example.okta.com", without a path, got ${JSON.stringify(out.OrgURL)}`);
  }
  if (out.ClientID === '') o.error('ClientID', "is required: the API Services app's client ID");
  if (out.PrivateKeyFile === '') o.error('PrivateKeyFile', "is required: the file holding the app's private key (PEM or JWK), whose public key is in the app's JWKS");
  for (const k of o.unknownKeys()) o.error(k.slice(k.lastIndexOf('.') + 1), `is not a key of Sync.Okta (OrgURL, ClientID, PrivateKeyFile, KeyID, UserSearch, GroupFilter)${didYouMean(k.slice(k.lastIndexOf('.') + 1), o.knownKeys())}`);
  return Object.freeze(out);
}

function readScim(y: FieldReader): ScimSyncSource {
  if (!y.has('SCIM')) y.error('SCIM', 'is required with Source "scim": {"TokenFile": "<a file holding the bearer token the IdP sends>"}');
  const c = y.object('SCIM');
  const out: ScimSyncSource = { TokenFile: c.string('TokenFile') };
  if (out.TokenFile === '') c.error('TokenFile', 'is required: a file holding the bearer token (at least 32 characters) that the IdP\'s SCIM provisioning sends');
  for (const k of c.unknownKeys()) c.error(k.slice(k.lastIndexOf('.') + 1), `is not a key of Sync.SCIM (TokenFile)${didYouMean(k.slice(k.lastIndexOf('.') + 1), c.knownKeys())}`);
  return Object.freeze(out);
}

/**
 * A portal profile's team references: each must parse; in "idp" mode a plain value must be a team ID (an
 * integer), since the admin API knows no other. Other actions keep TIB's free-form group IDs.
 */
function checkTeamRefs(actionType: string, membership: Membership | undefined, mapping: Record<string, string> | null, defaultGroup: string, errors: FieldError[], warnings: FieldError[]): void {
  if (actionType !== PORTAL_ACTION) return;
  const idp = membership?.Authority === 'idp';
  if (idp && Object.keys(mapping ?? {}).length === 0 && defaultGroup === '') {
    warnings.push({ field: 'Membership.Authority', message: 'is "idp" but the profile has neither UserGroupMapping nor DefaultUserGroupID, so every login is refused (an account without a team has no organisation)' });
  }
  const check = (field: string, raw: string) => {
    const ref = parseTeamRef(raw);
    if ('problem' in ref) errors.push({ field, message: `${JSON.stringify(raw)} ${ref.problem}` });
    else if (idp && ref.kind === 'id' && !isTeamId(raw)) {
      errors.push({ field, message: `must be a portal team: its ID (an integer), "cid:<team CID>" or "<organisation name>/<team name>", got ${JSON.stringify(raw)}` });
    }
  };
  for (const [group, team] of Object.entries(mapping ?? {})) check(`UserGroupMapping.${group}`, team);
  if (defaultGroup !== '') check('DefaultUserGroupID', defaultGroup);
}

export function readPortalKeys(
  r: FieldReader,
  actionType: string,
  mapping: Record<string, string> | null,
  defaultGroup: string,
  errors: FieldError[],
  warnings: FieldError[],
): Pick<Profile, 'Membership' | 'TykAPISettings' | 'Sync'> {
  const out: Pick<Profile, 'Membership' | 'TykAPISettings' | 'Sync'> = {};
  const membership = readMembership(r, actionType, errors);
  if (membership) out.Membership = membership;
  const tyk = readTykSettings(r);
  if (tyk) out.TykAPISettings = tyk;
  checkTeamRefs(actionType, membership, mapping, defaultGroup, errors, warnings);
  const sync = readSync(r, actionType, membership, errors);
  if (sync) out.Sync = sync;
  return out;
}
